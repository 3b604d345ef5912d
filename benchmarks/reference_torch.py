"""Hand-written PyTorch training loops for the zoo's networks: what a user would write instead of the zoo.

Plain PyTorch idiom: NCHW tensors, `nn.Sequential` nets with the zoo's layer
sizes (parameter counts equal the zoo's; the test checks), `torch.optim.Adam`
with the zoo's hyper-parameters, `loss.backward()`, eager mode. Each step does
the zoo step's work: the VAE's dynamic binarization and reparameterization;
WGAN-GP's `n_critic` critic updates with a gradient penalty (double backward)
and one generator update (Gulrajani et al. 2017, Algorithm 1); CycleGAN's joint
generator update and two discriminator updates on 50-image pools (Zhu et al.
2017; the pool as in the authors' PyTorch code); the translation model's
discriminator update and translator update (Lample et al. 2018, see below).

Translation (UNMT, `zoo.models.unmt`): the same networks and step. An
embedding tied to the output layer, a bidirectional `nn.GRU` encoder over
packed sequences, a `nn.GRU` decoder started from tanh(W mean(states)), Luong's
"general" attention on its outputs; an MLP discriminator on every encoder
state. Each step: the noise C(x) (word drop, then local shuffle; `add_noise`,
on the device) of both languages' sentences and of their back-translations;
one RMSprop update of the discriminator on the encoder states of C(x); one Adam
update (each gradient clipped to norm 5, as Keras' `clipnorm`) of the
translator on denoising + back-translation + adversarial losses, teacher
forced. Differences from the zoo, none of which changes the work of a step:
`torch.optim.RMSprop` adds its epsilon (1e-7) outside the square root, Keras
inside; packing the encoder's sequences reads their lengths on the host (one
device sync per encoding on a GPU), where Keras masks the padded steps.
"""

import contextlib
import itertools

import torch
from _bench import ImagePool, LoopBench, synthetic, translation_vocabulary
from torch import nn
from torch.nn import functional as F


def _adam(params, cfg):
    # Keras' Adam epsilon (1e-7), so both sides do the same update.
    return torch.optim.Adam(params, lr=cfg["learning_rate"], betas=(cfg.get("beta_1", 0.9), cfg.get("beta_2", 0.999)),
                            eps=1e-7)


def _count(module):
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


# VAE ------------------------------------------------------------------------------------------

class Encoder(nn.Module):
    """zoo.layers.conv_encoder: strided 3x3 convolutions, a dense hidden layer, mean and log-variance heads."""

    def __init__(self, latent_dim=32, filters=(32, 64), hidden=256, channels=1, size=28):
        super().__init__()
        layers, previous = [], channels
        for f in filters:
            layers += [nn.Conv2d(previous, f, 3, stride=2, padding=1), nn.ReLU()]
            previous = f
        side = size // 2 ** len(filters)
        self.body = nn.Sequential(*layers, nn.Flatten(), nn.Linear(side * side * previous, hidden), nn.ReLU())
        self.mean = nn.Linear(hidden, latent_dim)
        self.log_var = nn.Linear(hidden, latent_dim)

    def forward(self, x):
        h = self.body(x)
        return self.mean(h), self.log_var(h)


def decoder(latent_dim=32, filters=(32, 64), hidden=256, channels=1, size=28):
    """zoo.layers.conv_decoder: the encoder mirrored with transposed convolutions, ending in logits."""
    side = size // 2 ** len(filters)
    layers = [nn.Linear(latent_dim, hidden), nn.ReLU(), nn.Linear(hidden, side * side * filters[-1]), nn.ReLU(),
              nn.Unflatten(1, (filters[-1], side, side))]
    previous = filters[-1]
    for f in reversed(filters):
        layers += [nn.ConvTranspose2d(previous, f, 3, stride=2, padding=1, output_padding=1), nn.ReLU()]
        previous = f
    return nn.Sequential(*layers, nn.Conv2d(previous, channels, 3, padding=1))


def vae_nets(cfg):
    args = (cfg["latent_dim"], cfg["filters"], cfg["hidden"])
    return {"encoder": Encoder(*args), "decoder": decoder(*args)}


def vae_step(nets, cfg, autocast):
    encoder, dec = nets["encoder"], nets["decoder"]
    optimizer = _adam(itertools.chain(encoder.parameters(), dec.parameters()), cfg)

    def step(x):
        with autocast():
            x = (torch.rand_like(x) < x).to(x.dtype)  # dynamic binarization
            mean, log_var = encoder(x)
            z = mean + torch.exp(0.5 * log_var) * torch.randn_like(mean)
            logits = dec(z)
            reconstruction = -(x * logits - F.softplus(logits)).flatten(1).sum(1).mean()
            kl = (0.5 * (log_var.exp() + mean.square() - 1.0 - log_var)).sum(1).mean()
            loss = reconstruction + kl
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return loss.detach()

    return step


# WGAN-GP --------------------------------------------------------------------------------------

def dcgan_generator(latent_dim=64, width=32, channels=1):
    """zoo.models.gan.dcgan_generator: dense to 7x7x(2 width), two stride-2 4x4 transposed convs, BatchNorm, ReLU."""
    return nn.Sequential(
        nn.Linear(latent_dim, 7 * 7 * 2 * width, bias=False), nn.BatchNorm1d(7 * 7 * 2 * width, eps=1e-3, momentum=0.01),
        nn.ReLU(), nn.Unflatten(1, (2 * width, 7, 7)),
        nn.ConvTranspose2d(2 * width, width, 4, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(width, eps=1e-3, momentum=0.01), nn.ReLU(),
        nn.ConvTranspose2d(width, channels, 4, stride=2, padding=1), nn.Sigmoid(),
    )


def dcgan_critic(width=32, channels=1):
    """zoo.models.gan.dcgan_critic(normalization=None): two stride-2 4x4 convs with LeakyReLU(0.2), a linear score."""
    return nn.Sequential(
        nn.Conv2d(channels, width, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
        nn.Conv2d(width, 2 * width, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
        nn.Flatten(), nn.Linear(7 * 7 * 2 * width, 1),
    )


def wgan_gp_nets(cfg):
    return {"generator": dcgan_generator(cfg["latent_dim"], cfg["width"]), "critic": dcgan_critic(cfg["width"])}


def _requires_grad(module, flag):
    for p in module.parameters():
        p.requires_grad_(flag)


def wgan_gp_step(nets, cfg, autocast):
    generator, critic = nets["generator"], nets["critic"]
    g_optimizer, d_optimizer = _adam(generator.parameters(), cfg), _adam(critic.parameters(), cfg)
    latent_dim, gp_weight = cfg["latent_dim"], cfg["gp_weight"]

    def step(real):
        n = real.shape[0]
        for _ in range(cfg["n_critic"]):
            with autocast():
                with torch.no_grad():
                    fake = generator(torch.randn(n, latent_dim, device=real.device))
                w = torch.rand(n, 1, 1, 1, device=real.device)
                mixed = (w * real + (1.0 - w) * fake).requires_grad_(True)
                (grads,) = torch.autograd.grad(critic(mixed).sum(), mixed, create_graph=True)
                penalty = ((grads.flatten(1).square().sum(1) + 1e-12).sqrt() - 1.0).square().mean()
                d_loss = critic(fake).mean() - critic(real).mean() + gp_weight * penalty
            d_optimizer.zero_grad(set_to_none=True)
            d_loss.backward()
            d_optimizer.step()
        _requires_grad(critic, False)
        with autocast():
            g_loss = -critic(generator(torch.randn(n, latent_dim, device=real.device))).mean()
        g_optimizer.zero_grad(set_to_none=True)
        g_loss.backward()
        g_optimizer.step()
        _requires_grad(critic, True)
        return d_loss.detach(), g_loss.detach()

    return step


# CycleGAN -------------------------------------------------------------------------------------

class ResidualBlock(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1), nn.InstanceNorm2d(channels, affine=True), nn.ReLU(),
            nn.Conv2d(channels, channels, 3, padding=1), nn.InstanceNorm2d(channels, affine=True),
        )

    def forward(self, x):
        return x + self.body(x)


def resnet_generator(width=16, n_blocks=3, channels=1):
    """zoo.models.cyclegan.resnet_generator: c7s1-w, d2w, residual blocks, u w, c7s1-channels, instance norm."""
    return nn.Sequential(
        nn.Conv2d(channels, width, 7, padding=3), nn.InstanceNorm2d(width, affine=True), nn.ReLU(),
        nn.Conv2d(width, 2 * width, 3, stride=2, padding=1), nn.InstanceNorm2d(2 * width, affine=True), nn.ReLU(),
        *[ResidualBlock(2 * width) for _ in range(n_blocks)],
        nn.ConvTranspose2d(2 * width, width, 3, stride=2, padding=1, output_padding=1),
        nn.InstanceNorm2d(width, affine=True), nn.ReLU(),
        nn.Conv2d(width, channels, 7, padding=3), nn.Sigmoid(),
    )


def patch_discriminator(width=32, channels=1):
    """zoo.models.cyclegan.patch_discriminator: a PatchGAN giving a 7x7 map of LSGAN scores."""
    return nn.Sequential(
        nn.Conv2d(channels, width, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
        nn.Conv2d(width, 2 * width, 4, stride=2, padding=1), nn.InstanceNorm2d(2 * width, affine=True),
        nn.LeakyReLU(0.2),
        nn.Conv2d(2 * width, 4 * width, 4, padding="same"), nn.InstanceNorm2d(4 * width, affine=True),
        nn.LeakyReLU(0.2),
        nn.Conv2d(4 * width, 1, 4, padding="same"),
    )


def cyclegan_nets(cfg):
    return {
        "generator_ab": resnet_generator(cfg["width"], cfg["n_blocks"]),
        "generator_ba": resnet_generator(cfg["width"], cfg["n_blocks"]),
        "discriminator_a": patch_discriminator(cfg["discriminator_width"]),
        "discriminator_b": patch_discriminator(cfg["discriminator_width"]),
    }


def cyclegan_step(nets, cfg, autocast):
    g, f = nets["generator_ab"], nets["generator_ba"]
    d_a, d_b = nets["discriminator_a"], nets["discriminator_b"]
    g_optimizer = _adam(itertools.chain(g.parameters(), f.parameters()), cfg)
    d_optimizer = _adam(itertools.chain(d_a.parameters(), d_b.parameters()), cfg)
    pool_a, pool_b = (ImagePool(cfg["pool_size"], copy=torch.Tensor.clone) for _ in range(2))
    lam, identity_weight = cfg["cycle_weight"], cfg["identity_weight"]

    def step(a, b):
        _requires_grad(d_a, False)
        _requires_grad(d_b, False)
        with autocast():
            fake_b, fake_a = g(a), f(b)
            adversarial = (d_b(fake_b) - 1.0).square().mean() + (d_a(fake_a) - 1.0).square().mean()
            cycle = (f(fake_b) - a).abs().mean() + (g(fake_a) - b).abs().mean()
            identity = (g(b) - b).abs().mean() + (f(a) - a).abs().mean()
            g_loss = adversarial + lam * cycle + identity_weight * lam * identity
        g_optimizer.zero_grad(set_to_none=True)
        g_loss.backward()
        g_optimizer.step()
        _requires_grad(d_a, True)
        _requires_grad(d_b, True)
        with autocast():
            old_a = torch.stack(pool_a.query(fake_a.detach().unbind(0)))
            old_b = torch.stack(pool_b.query(fake_b.detach().unbind(0)))
            d_loss = (0.5 * (d_a(a) - 1.0).square().mean() + 0.5 * d_a(old_a).square().mean()
                      + 0.5 * (d_b(b) - 1.0).square().mean() + 0.5 * d_b(old_b).square().mean())
        d_optimizer.zero_grad(set_to_none=True)
        d_loss.backward()
        d_optimizer.step()
        return g_loss.detach(), d_loss.detach()

    return step


# Translation ----------------------------------------------------------------------------------

PAD_ID, EOS_ID = 0, 2  # zoo.text.tokenizer's fixed ids


class Translator(nn.Module):
    """zoo.models.unmt.AttentionTranslator: shared embedding, bidirectional GRU encoder, attention GRU decoder."""

    def __init__(self, vocab_size, embedding_dim=256, units=256):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.encoder = nn.GRU(embedding_dim, units // 2, batch_first=True, bidirectional=True)
        self.bridge = nn.Linear(units, units)
        self.decoder = nn.GRU(embedding_dim, units, batch_first=True)
        self.attention = nn.Linear(units, units, bias=False)
        self.combine = nn.Linear(2 * units, embedding_dim)
        self.output_bias = nn.Parameter(torch.zeros(vocab_size))

    def encode(self, tokens):
        """Ids `(n, t)` -> states `(n, t, units)` (0 at padding) and the mask of real pieces (the first always)."""
        mask = tokens.ne(PAD_ID)
        mask[:, 0] = True
        packed = nn.utils.rnn.pack_padded_sequence(self.embedding(tokens), mask.sum(1).cpu(), batch_first=True,
                                                   enforce_sorted=False)
        states, _ = nn.utils.rnn.pad_packed_sequence(self.encoder(packed)[0], batch_first=True,
                                                     total_length=tokens.shape[1])
        return states, mask

    def decode(self, inputs, states, mask):
        """Teacher forcing: decoder input ids `(n, t)` -> logits `(n, t, vocab)`."""
        weights = mask.unsqueeze(-1).to(states.dtype)
        mean = (states * weights).sum(1) / weights.sum(1).clamp(min=1.0)
        outputs, _ = self.decoder(self.embedding(inputs), torch.tanh(self.bridge(mean)).unsqueeze(0))
        scores = outputs @ self.attention(states).transpose(1, 2)  # Luong's general score h_t^T W h_s
        scores = scores.masked_fill(~mask.unsqueeze(1), -1e9)
        context = torch.softmax(scores, -1) @ states
        combined = torch.tanh(self.combine(torch.cat([outputs, context], -1)))
        return combined @ self.embedding.weight.T + self.output_bias


def language_discriminator(units=256, hidden=256, depth=2):
    """zoo.models.unmt.language_discriminator: an MLP with LeakyReLU(0.2), one logit per encoder state."""
    layers, previous = [], units
    for _ in range(depth):
        layers += [nn.Linear(previous, hidden), nn.LeakyReLU(0.2)]
        previous = hidden
    return nn.Sequential(*layers, nn.Linear(previous, 1))


def translation_nets(cfg):
    return {"translator": Translator(cfg["vocab_size"], cfg["embedding_dim"], cfg["units"]),
            "discriminator": language_discriminator(cfg["units"], cfg["discriminator_units"],
                                                    cfg["discriminator_layers"])}


def add_noise(tokens, word_start, drop_draws, shuffle_draws, p, k):
    """zoo.text.noise.add_noise: drop each word with probability `p`, then move words at most `k` places by
    sorting i + U(0, k + 1); `drop_draws` and `shuffle_draws` are U(0, 1) of the tokens' shape."""
    length = tokens.shape[1]
    position = torch.arange(length, device=tokens.device).unsqueeze(0)
    starts = (word_start[tokens] | position.eq(0)) & tokens.ne(PAD_ID)
    word_index = lambda starts: (starts.long().cumsum(1) - 1).clamp(min=0)
    valid = tokens.ne(PAD_ID)
    keep = (drop_draws >= p).gather(1, word_index(starts)) & valid
    keep = torch.where(keep.any(1, keepdim=True), keep, valid)  # a sentence never loses all its words
    order = torch.where(keep, position, position + length).argsort(1)
    tokens, starts = tokens.masked_fill(~keep, PAD_ID).gather(1, order), (starts & keep).gather(1, order)
    rank = (position + (k + 1.0) * shuffle_draws).argsort(1).argsort(1)
    word_rank = rank.gather(1, word_index(starts))
    key = torch.where(tokens.ne(PAD_ID), word_rank * length + position, length * length + position)
    return tokens.gather(1, key.argsort(1))


def teacher_forcing(targets, language_ids):
    """zoo.models.unmt.teacher_forcing: decoder inputs (language token, sentence) and targets (sentence, EOS)."""
    lengths = targets.ne(PAD_ID).sum(1, keepdim=True)
    padded = F.pad(targets, (0, 1))
    positions = torch.arange(targets.shape[1] + 1, device=targets.device).unsqueeze(0)
    return torch.cat([language_ids.unsqueeze(1), targets], 1), torch.where(positions.eq(lengths), EOS_ID, padded)


def masked_mean(values, mask):
    mask = mask.to(values.dtype)
    return (values * mask).sum() / mask.sum().clamp(min=1.0)


def language_labels(batches):
    """0 for every piece of the first language's rows, 1 for the second's: `(rows, length)`."""
    return torch.cat([torch.full(b.shape, float(i), device=b.device) for i, b in enumerate(batches)])


def discriminator_loss(discriminator, states, mask, noisy, smoothing):
    labels = language_labels(noisy)
    smoothed = labels * (1.0 - smoothing) + 0.5 * smoothing
    logits = discriminator(states).squeeze(-1)
    return masked_mean(F.binary_cross_entropy_with_logits(logits, smoothed, reduction="none"), mask)


def translator_loss(translator, discriminator, clean, noisy, translated, language_ids):
    """Denoising + back-translation (one mean cross-entropy per language, summed) + the adversarial term."""
    states, mask = translator.encode(torch.cat(noisy + translated))
    ids = torch.cat([torch.full((b.shape[0],), language_ids[i], device=b.device) for i, b in enumerate(clean)])
    inputs, targets = teacher_forcing(torch.cat(clean * 2), torch.cat([ids, ids]))
    logits = translator.decode(inputs, states, mask)
    losses = F.cross_entropy(logits.flatten(0, 1), targets.flatten(), reduction="none").view(targets.shape)
    loss, start = 0.0, 0
    for batch in clean * 2:
        end = start + batch.shape[0]
        loss = loss + masked_mean(losses[start:end], targets[start:end].ne(PAD_ID))
        start = end
    size = sum(b.shape[0] for b in noisy)
    flipped = 1.0 - language_labels(noisy)
    adversarial = masked_mean(F.binary_cross_entropy_with_logits(discriminator(states[:size]).squeeze(-1), flipped,
                                                                 reduction="none"), mask[:size])
    return loss + adversarial * len(noisy)


def translation_step(nets, cfg, autocast, vocabulary=None):
    """The UNMT step; `vocabulary` (default: `translation_vocabulary(cfg)`) gives the language and word-start ids."""
    vocabulary = vocabulary or translation_vocabulary(cfg)
    translator, discriminator = nets["translator"], nets["discriminator"]
    device = next(translator.parameters()).device
    t_optimizer = _adam(translator.parameters(), cfg)
    d_optimizer = torch.optim.RMSprop(discriminator.parameters(), lr=cfg["discriminator_learning_rate"],
                                      alpha=cfg["rho"], eps=1e-7)
    word_start = torch.as_tensor(vocabulary.word_start, device=device)
    languages = cfg["languages"]
    language_ids = [vocabulary.language_id(lang) for lang in languages]
    p, k = cfg["word_dropout"], cfg["word_shuffle"]
    noise = lambda x: add_noise(x, word_start, torch.rand(x.shape, device=x.device),
                                torch.rand(x.shape, device=x.device), p, k)

    def step(batch):
        clean = [batch[lang].long() for lang in languages]
        noisy = [noise(x) for x in clean]
        translated = [noise(batch[f"{lang}_translated"].long()) for lang in languages]
        with autocast():
            with torch.no_grad():
                states, mask = translator.encode(torch.cat(noisy))
            d_loss = discriminator_loss(discriminator, states, mask, noisy, cfg["smoothing"])
        d_optimizer.zero_grad(set_to_none=True)
        d_loss.backward()
        d_optimizer.step()
        _requires_grad(discriminator, False)
        with autocast():
            loss = translator_loss(translator, discriminator, clean, noisy, translated, language_ids)
        t_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        for parameter in translator.parameters():  # Keras' clipnorm: each gradient on its own
            nn.utils.clip_grad_norm_(parameter, cfg["clipnorm"])
        t_optimizer.step()
        _requires_grad(discriminator, True)
        return d_loss.detach(), loss.detach()

    return step


NETS = {"vae": vae_nets, "wgan_gp": wgan_gp_nets, "cyclegan": cyclegan_nets, "translation": translation_nets}
STEPS = {"vae": vae_step, "wgan_gp": wgan_gp_step, "cyclegan": cyclegan_step, "translation": translation_step}


def parameter_counts(model_name, cfg):
    return {name: _count(net) for name, net in NETS[model_name](cfg).items()}


def make_bench(model_name, cfg, args):
    if args.device == "gpu" and not torch.cuda.is_available():
        raise SystemExit("--device gpu: PyTorch sees no CUDA device")
    device = torch.device("cuda" if args.device == "gpu" else "cpu")
    if args.precision not in ("float32", "mixed_bfloat16"):
        raise SystemExit(f"precision {args.precision!r} is not supported by the PyTorch reference")
    if args.precision == "mixed_bfloat16":
        autocast = lambda: torch.autocast(device.type, dtype=torch.bfloat16)
    else:
        autocast = contextlib.nullcontext
    nets = {name: net.to(device).train() for name, net in NETS[model_name](cfg).items()}
    step = STEPS[model_name](nets, cfg, autocast)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    bench = LoopBench(step, lambda a: torch.from_numpy(a).to(device, non_blocking=True), sync,
                      lambda n: synthetic(model_name, n, channels_first=True, cfg=cfg), args.batch_size)
    bench.params = {name: _count(net) for name, net in nets.items()}
    layout = "batch-first sequences" if model_name == "translation" else "NCHW"
    bench.settings = {"precision": args.precision, "layout": layout, "mode": "eager"}
    bench.device_peak_mb = lambda: torch.cuda.max_memory_allocated() / 2**20 if device.type == "cuda" else None
    return bench
