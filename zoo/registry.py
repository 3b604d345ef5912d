"""The zoo's one table: model name -> description, family, builder, recipe, bundled checkpoint."""

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from zoo.errors import UnknownModelError

ROOT = Path(__file__).resolve().parent.parent
CHECKPOINTS = ROOT / "checkpoints"


@dataclass(frozen=True)
class Entry:
    name: str
    description: str
    family: str
    build: Callable  # -> an untrained model with the recipe's architecture
    recipe: str

    @property
    def checkpoint_dir(self):
        return CHECKPOINTS / self.name


def _vae_mnist():
    from zoo.models.vae import VAE

    return VAE(image_shape=(28, 28, 1), latent_dim=32)


def _autoencoder(**kwargs):
    def build():
        from zoo.models.autoencoder import Autoencoder

        return Autoencoder(image_shape=(28, 28, 1), **kwargs)

    return build


def _dfcvae(feature_network, feature_layers, **networks):
    def build():
        import zoo
        from zoo.models.vae import DFCVAE

        return DFCVAE(zoo.load(feature_network, compile=False), list(feature_layers), feature_weight=3000.0,
                      **networks)

    return build


def _beta_vae_mnist():
    from zoo.models.vae import VAE

    return VAE(image_shape=(28, 28, 1), latent_dim=10, beta=4.0)


def _eigenfaces_olivetti():
    from zoo.models.classical import eigenfaces_olivetti

    return eigenfaces_olivetti()


def _fisherfaces_olivetti():
    from zoo.models.classical import fisherfaces_olivetti

    return fisherfaces_olivetti()


def _prodlda_multi30k():
    from zoo.models.topics import prodlda_multi30k

    return prodlda_multi30k(num_topics=20)


def _policy(environment):
    def build():
        from zoo.models.evolution import policy_for

        return policy_for(environment)

    return build


def _srresnet_x4():
    from zoo.models.superres import srresnet_x4

    return srresnet_x4(width=64, blocks=16, residual=True)


def _naturalnet():
    from zoo.models.natural_features import naturalnet

    return naturalnet()


def _natural_judge():
    from zoo.models.natural_features import natural_judge

    return natural_judge()


def _dae_bsd():
    from zoo.models.denoiser import dae_bsd

    return dae_bsd()


def _cyclegan_mnist_usps():
    from zoo.models.cyclegan import cyclegan_mnist_usps

    return cyclegan_mnist_usps()


def _unmt_multi30k(src, tgt, **kwargs):
    def build():
        from zoo.models.unmt import unmt_multi30k

        return unmt_multi30k((src, tgt), **kwargs)  # vocabulary re-learned from $ZOO_DATA_DIR (deterministic)

    return build


def _digit_classifier():
    from zoo.models.classifier import digit_classifier

    return digit_classifier()


def _digit_judge():
    from zoo.models.classifier import digit_judge

    return digit_judge()


def _face_classifier():
    from zoo.models.classifier import face_classifier

    return face_classifier()


def _face_judge():
    from zoo.models.classifier import face_judge

    return face_judge()


def dcgan_builder(loss, width=32, latent_dim=64, channels=1, packing=1, critic_depth=2, generator_head="deconv"):
    """A builder of the zoo's DCGAN-style `GAN` with `loss`, as the gan_* entries use; recipes reuse it.

    `packing` > 1 is PacGAN: the critic reads `packing` samples at once, so it has `packing * channels` inputs.
    `critic_depth` is the critic's number of stride-2 convolutions (`dcgan_critic`).
    `generator_head` is how the generator writes its image (`dcgan_generator`'s `head`).
    BEGAN gets an autoencoder critic and a generator without BatchNorm and with a linear output, gamma = 1 and
    lambda_k = 0.01: with DCGAN's BatchNorm-and-sigmoid generator and the paper's gamma = 0.5, lambda_k = 0.001,
    our MNIST runs collapsed to black images (fid_mnistnet about 1800), and a sigmoid stalls the L1 loss."""
    def build():
        from zoo.models.gan import GAN, began_autoencoder, dcgan_critic, dcgan_generator

        if loss == "began":
            generator = dcgan_generator(latent_dim, channels=channels, width=width, normalization=None,
                                        output="linear")
            critic = began_autoencoder(channels=channels, width=width)
            return GAN(generator, critic, latent_dim=latent_dim, loss=loss, gamma=1.0, lambda_k=0.01)
        generator = dcgan_generator(latent_dim, channels=channels, width=width, head=generator_head)
        critic = dcgan_critic(channels=channels * packing, width=width, depth=critic_depth,
                              normalization=None if loss in ("wgan_gp", "dragan") else "batch")
        return GAN(generator, critic, latent_dim=latent_dim, loss=loss, packing=packing)

    return build


_GAN_NAMES = {"mm": "minimax", "ns": "non-saturating", "wgan": "WGAN (weight clipping)",
              "wgan_gp": "WGAN-GP", "lsgan": "LSGAN", "dragan": "DRAGAN", "began": "BEGAN"}

ENTRIES = {
    entry.name: entry
    for entry in [
        Entry(
            name="vae_mnist",
            description="Convolutional VAE (Kingma & Welling 2014) on dynamically binarized MNIST, 32-d latent.",
            family="vae",
            build=_vae_mnist,
            recipe="recipes/vae_mnist.py",
        ),
        Entry(
            name="ae_mnist",
            description="Convolutional autoencoder (Hinton & Salakhutdinov 2006) on MNIST, 16-number code.",
            family="autoencoder",
            build=_autoencoder(code_dim=16),
            recipe="recipes/autoencoder_mnist.py --model ae",
        ),
        Entry(
            name="ae_fashion_mnist",
            description="Convolutional autoencoder (Hinton & Salakhutdinov 2006) on Fashion-MNIST, 16-number code.",
            family="autoencoder",
            build=_autoencoder(code_dim=16),
            recipe="recipes/autoencoder_mnist.py --model ae --dataset fashion_mnist",
        ),
        Entry(
            name="dae_mnist",
            description="Denoising autoencoder (Vincent et al. 2008) on MNIST, masking noise (30% of pixels), "
                        "16-number code.",
            family="autoencoder",
            build=_autoencoder(code_dim=16, noise="masking", noise_level=0.3),
            recipe="recipes/autoencoder_mnist.py --model dae",
        ),
        Entry(
            name="ae2d_mnist",
            description="Convolutional autoencoder on MNIST with a 2-number code, for the scatter of the digits.",
            family="autoencoder",
            build=_autoencoder(code_dim=2),
            recipe="recipes/autoencoder_mnist.py --model ae2d",
        ),
        Entry(
            name="beta_vae_mnist",
            description="beta-VAE (Higgins et al. 2017, beta=4) on dynamically binarized MNIST, 10-d latent.",
            family="vae",
            build=_beta_vae_mnist,
            recipe="recipes/autoencoder_mnist.py --model beta_vae",
        ),
        Entry(
            name="pca_olivetti",
            description="Eigenfaces (Turk & Pentland 1991): PCA of the Olivetti faces, 200 components, "
                        "1-NN identification.",
            family="classical",
            build=_eigenfaces_olivetti,
            recipe="recipes/eigenfaces_olivetti.py",
        ),
        Entry(
            name="lda_olivetti",
            description="Fisherfaces (Belhumeur et al. 1997): PCA to N - c then LDA to 39 dims on Olivetti faces, "
                        "1-NN identification.",
            family="classical",
            build=_fisherfaces_olivetti,
            recipe="recipes/eigenfaces_olivetti.py",
        ),
        Entry(
            name="dae_bsd",
            description="Blind DnCNN denoiser (Zhang et al. 2017) for Gaussian noise up to sigma 55 on grey and "
                        "colour natural images, trained on Sun-Hays80 + Set5 + Set14 patches; tested on BSD68 "
                        "and CBSD68.",
            family="denoiser",
            build=_dae_bsd,
            recipe="recipes/dncnn_bsd.py",
        ),
        Entry(
            name="mnistnet",
            description="MNIST digit classifier whose features define fid_mnistnet and label stacked-MNIST modes.",
            family="classifier",
            build=_digit_classifier,
            recipe="recipes/digit_classifier.py --dataset mnist",
        ),
        Entry(
            name="fashionnet",
            description="Fashion-MNIST classifier whose features define fid_fashionnet.",
            family="classifier",
            build=_digit_classifier,
            recipe="recipes/digit_classifier.py --dataset fashion_mnist",
        ),
        Entry(
            name="uspsnet",
            description="USPS digit classifier (28x28, MNIST-like layout) whose features define fid_uspsnet and "
                        "that judges MNIST->USPS translations.",
            family="classifier",
            build=_digit_classifier,
            recipe="recipes/digit_classifier.py --dataset usps",
        ),
        Entry(
            name="facenet",
            description="Identity classifier of the 30 Olivetti people that face models train on (64x64 grey): "
                        "the feature network of dfcvae_olivetti's perceptual loss.",
            family="classifier",
            build=_face_classifier,
            recipe="recipes/digit_classifier.py --dataset olivetti",
        ),
        *[Entry(
            name=f"{dataset}_judge",
            description=f"Judge only (never in a training loss): {title} classifier with residual blocks, whose "
                        f"features and labels score generated and translated {title} images (fid_{dataset}_judge).",
            family="judge",
            build=_digit_judge,
            recipe=f"recipes/judge.py --dataset {dataset}",
        ) for dataset, title in (("mnist", "MNIST"), ("fashion_mnist", "Fashion-MNIST"), ("usps", "USPS (28x28)"))],
        Entry(
            name="olivetti_judge",
            description="Judge only (never in a training loss): identity classifier of the 40 Olivetti people "
                        "(64x64, residual blocks), that scores whether generated or completed faces keep identity.",
            family="judge",
            build=_face_judge,
            recipe="recipes/judge.py --dataset olivetti",
        ),
        Entry(
            name="naturalnet",
            description="Natural-image feature network (VGG19-BN's conv1_1-conv4_4 at half width) trained by "
                        "rotation prediction (Gidaris et al. 2018) on T91 + BSD200 + Sun-Hays80: the content loss's "
                        "network for super-resolution (SRGAN's VGG54 analogue).",
            family="classifier",
            build=_naturalnet,
            recipe="recipes/natural_features.py --network naturalnet",
        ),
        Entry(
            name="natural_judge",
            description="Judge only (never in a training loss): residual natural-image network trained on relative "
                        "patch position (Doersch et al. 2015) on T91 + BSD200 + Sun-Hays80, whose LPIPS-style "
                        "perceptual distance scores super-resolution results.",
            family="judge",
            build=_natural_judge,
            recipe="recipes/natural_features.py --network natural_judge",
        ),
        Entry(
            name="dfcvae_fashion_mnist",
            description="DFC-VAE (Hou et al. 2017) on Fashion-MNIST: a 32-d convolutional VAE trained with a "
                        "feature-consistent loss on fashionnet's frozen features.",
            family="vae",
            build=_dfcvae("fashionnet", ("conv_0", "conv_1", "down_1"), image_shape=(28, 28, 1), latent_dim=32,
                          filters=(32, 64), hidden=256),
            recipe="recipes/dfcvae.py",
        ),
        Entry(
            name="dfcvae_olivetti",
            description="DFC-VAE (Hou et al. 2017) on 64x64 Olivetti faces: a 100-d convolutional VAE trained with "
                        "a feature-consistent loss on facenet's frozen features.",
            family="vae",
            build=_dfcvae("facenet", ("conv_0", "conv_1", "conv_2"), image_shape=(64, 64, 1), latent_dim=100,
                          filters=(32, 64, 128, 256), hidden=256, kl_warmup=1000),
            recipe="recipes/dfcvae_olivetti.py",
        ),
        Entry(
            name="cyclegan_mnist_usps",
            description="CycleGAN (Zhu et al. 2017) translating 28x28 digits between MNIST and USPS, trained unpaired.",
            family="cyclegan",
            build=_cyclegan_mnist_usps,
            recipe="recipes/cyclegan_mnist_usps.py",
        ),
        Entry(
            name="cyclegan_mnist_outline",
            description="CycleGAN (Zhu et al. 2017) translating 28x28 MNIST digits to and from their outlines "
                        "(3x3 morphological gradient, dark on white), trained unpaired; scored against the true "
                        "outlines.",
            family="cyclegan",
            build=_cyclegan_mnist_usps,  # the same 28x28 grey networks; only the data differ
            recipe="recipes/cyclegan_mnist_outline.py",
        ),
        *[
            Entry(
                name=f"unmt_multi30k_en_{tgt}",
                description=f"Unsupervised MT (Lample et al. 2018) en<->{tgt}: shared bi-GRU encoder, attention GRU "
                            "decoder, denoising + back-translation + adversarial training on disjoint Multi30k halves.",
                family="unmt",
                build=_unmt_multi30k("en", tgt),
                recipe=f"recipes/unmt_multi30k.py --pair en-{tgt} --iterations 2 --epochs 5",
            )
            for tgt in ("fr", "de")
        ],
        Entry(
            name="unmt_multi30k_en_fr_supervised",
            description="The supervised ceiling of unmt_multi30k_en_fr (issue 22): the same architecture with a "
                        "two-layer encoder, dropout 0.2 and label smoothing 0.1, trained on the 29,000 Multi30k "
                        "en-fr pairs in both directions.",
            family="unmt",
            build=_unmt_multi30k("en", "fr", encoder_layers=2, dropout=0.2, label_smoothing=0.1,
                                 denoising_weight=0.0, adversarial_weight=0.0, noise_translations=False),
            recipe="recipes/unmt_multi30k.py --pair en-fr --supervised --epochs 40 --learning-rate 1e-3 "
                   "--dropout 0.2 --label-smoothing 0.1 --encoder-layers 2",
        ),
        *[
            Entry(
                name=f"gan_{loss}_mnist",
                description=f"DCGAN-style GAN with the {title} loss on MNIST.",
                family="gan",
                build=dcgan_builder(loss),
                recipe=f"recipes/gan_mnist.py --loss {loss}",
            )
            for loss, title in _GAN_NAMES.items()
        ],
        Entry(
            name="dcgan_mnist",
            description="DCGAN (Radford et al. 2016, non-saturating loss) on MNIST, the zoo's best MNIST GAN: twice "
                        "the width of the gan_*_mnist networks, a third critic convolution and a generator whose "
                        "last layer is a 3x3 convolution at full resolution, trained longer.",
            family="gan",
            build=dcgan_builder("ns", width=64, critic_depth=3, generator_head="conv"),
            recipe="recipes/gan_mnist.py --name dcgan_mnist --epochs 36",
        ),
        Entry(
            name="gan_stacked_mnist",
            description="DCGAN-style GAN (non-saturating loss; PacGAN2: a critic of three stride-2 convolutions "
                        "judges two samples at once) on "
                        "stacked MNIST: three digits as RGB channels, 1000 modes, measured by modes covered and KL "
                        "to uniform (PacGAN protocol).",
            family="gan",
            build=dcgan_builder("ns", channels=3, packing=2, critic_depth=3),
            recipe="recipes/gan_stacked_mnist.py",
        ),
        Entry(
            name="wgan_gp_fashion_mnist",
            description="DCGAN-style WGAN-GP on Fashion-MNIST.",
            family="gan",
            build=dcgan_builder("wgan_gp"),
            recipe="recipes/gan_mnist.py --loss wgan_gp --dataset fashion_mnist",
        ),
        Entry(
            name="prodlda_multi30k",
            description="ProdLDA topic model (Srivastava & Sutton 2017), 20 topics over the Multi30k English "
                        "captions' 3054-word vocabulary; topics() and transform(texts).",
            family="topics",
            build=_prodlda_multi30k,
            recipe="recipes/prodlda_multi30k.py",
        ),
        Entry(
            name="srresnet_x4",
            description="SRResNet (Ledig et al. 2017) x4 super-resolution of grey or colour photographs: the "
                        "paper's generator plus a bicubic skip (VDSR's global residual), trained with the MSE on T91 "
                        "+ BSD200 + Sun-Hays80 crops; any size.",
            family="superres",
            build=_srresnet_x4,
            recipe="recipes/srresnet.py --residual --patch-size 64 --learning-rate 2e-4 --minutes 55",
        ),
        Entry(
            name="ga_cartpole",
            description="A Keras policy evolved by Deep GA (Such et al. 2017) to play CartPole-v1; "
                        "act(observation) -> 0 or 1; `zoo play ga_cartpole`.",
            family="evolution",
            build=_policy("cartpole"),
            recipe="recipes/evolution.py --method ga --env cartpole",
        ),
        Entry(
            name="ga_flappybird",
            description="A Keras policy evolved by Deep GA (Such et al. 2017) to play Flappy Bird from its 12 feature "
                        "observations; act(observation) -> 0 (glide) or 1 (flap); `zoo play ga_flappybird`.",
            family="evolution",
            build=_policy("flappybird"),
            recipe="recipes/evolution.py --method ga --env flappybird",
        ),
        Entry(
            name="es_cartpole",
            description="A Keras policy evolved by OpenAI-ES (Salimans et al. 2017) to play CartPole-v1; "
                        "act(observation) -> 0 or 1; `zoo play es_cartpole`.",
            family="evolution",
            build=_policy("cartpole"),
            recipe="recipes/evolution.py --method es --env cartpole",
        ),
        Entry(
            name="es_flappybird",
            description="A Keras policy evolved by OpenAI-ES (Salimans et al. 2017) to play Flappy Bird from its 12 "
                        "feature observations; act(observation) -> 0 (glide) or 1 (flap); `zoo play es_flappybird`.",
            family="evolution",
            build=_policy("flappybird"),
            recipe="recipes/evolution.py --method es --env flappybird",
        ),
    ]
}


def get(name):
    """The entry for `name`; an unknown name lists the closest known ones."""
    try:
        return ENTRIES[name]
    except KeyError:
        close = difflib.get_close_matches(name, ENTRIES, n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise UnknownModelError(
            f"unknown model {name!r}.{hint} Known models: {', '.join(sorted(ENTRIES))} "
            "(zoo.list_models() describes them); a path to a checkpoint folder also works."
        ) from None
