"""Data hygiene: no recipe trains on a registered test set (zoo.data.test_sets), checked on what each recipe's
own loaders return; the check itself finds test items by content and by folder."""

import pytest

from conftest import ROOT, load_recipe, shared_data_dir
from zoo.data import natural, test_sets
from zoo.errors import InputError

pytestmark = pytest.mark.backend_free

RECIPES = sorted(p.stem for p in (ROOT / "recipes").glob("*.py") if not p.name.startswith("_"))
# Every full configuration whose training data differs (the default one where a recipe has a single one).
CONFIGURATIONS = {
    "autoencoder_mnist": [["--model", "ae"], ["--model", "ae", "--dataset", "fashion_mnist"]],
    "codes_mnist": [[], ["--dataset", "fashion_mnist"]],
    "completion": [["--data", d] for d in ("faces", "scenes", "digits")],
    "digit_classifier": [["--dataset", d] for d in ("mnist", "fashion_mnist", "usps", "olivetti")],
    "gan_mnist": [["--loss", "ns"], ["--loss", "wgan_gp", "--dataset", "fashion_mnist"]],
    "judge": [["--dataset", d] for d in ("mnist", "fashion_mnist", "usps", "olivetti")],
    "srgan_artifacts": [["--srgan", "srgan_x4"]],  # measures a trained SRGAN, which it needs to be named
    "unmt_multi30k": [["--pair", "en-fr"], ["--pair", "en-de"], ["--pair", "en-fr", "--supervised"]],
}


@pytest.fixture(scope="module")
def data_dir():
    return shared_data_dir("multi30k/train.en.gz", "the test-set registry")


@pytest.mark.parametrize("name", RECIPES)
def test_no_recipe_trains_on_a_test_set(name, data_dir):
    recipe = load_recipe(name)
    assert hasattr(recipe, "training_data"), f"recipes/{name}.py must say what it trains on: training_data(args)"
    for argv in CONFIGURATIONS.get(name, [[]]):
        data = recipe.training_data(recipe.parse_args(argv))
        test_sets.check_training_data(data, family=getattr(recipe, "FAMILY", None))  # raises on a leak


def test_a_test_item_in_training_data_is_found_by_content(data_dir):
    import zoo.data

    train, _ = zoo.data.load("mnist", "train[:100]")
    test, _ = zoo.data.load("mnist", "test[:3]")
    test_sets.check_training_data({"images": train})
    with pytest.raises(InputError, match="1 items of the test set mnist_test"):
        test_sets.check_training_data({"images": [*train, test[2]]})


def test_natural_test_images_are_refused_by_folder_and_by_content(data_dir, tmp_path):
    training = natural.image_files("t91")[:3]
    test_sets.check_training_data({"image_files": training})
    for name in ("set5", "set14", "bsd100", "bsd68", "cbsd68"):
        with pytest.raises(InputError, match=f"test set {name}"):
            test_sets.check_training_data({"image_files": training + natural.image_files(name)[:1]})
    copy = tmp_path / "renamed.png"  # a test image copied elsewhere is still the test image
    copy.write_bytes(natural.image_files("set14")[0].read_bytes())
    with pytest.raises(InputError, match="test set set14"):
        test_sets.check_training_data({"image_files": training + [copy]})
    with pytest.raises(InputError, match="test sets"):
        natural.training_images(sets=("t91", "set5"))


def test_sentences_the_training_file_shares_with_a_test_file_are_allowed_others_not(data_dir):
    from zoo.data.multi30k import load_multi30k

    train = load_multi30k("train", ("en",))["en"]
    test = load_multi30k("test_2016_flickr", ("en",))["en"]
    shared = sorted(set(train) & set(test))
    unique = [s for s in test if s not in set(train)]
    assert unique
    allowed = test_sets.check_training_data({"sentences": train})
    assert allowed.get("multi30k_test_2016_flickr", 0) == len(shared)
    with pytest.raises(InputError, match="multi30k_test_2016_flickr"):
        test_sets.check_training_data({"sentences": train[:100] + unique[:1]})


def test_held_out_olivetti_people_are_a_test_set_of_face_models_only(data_dir):
    from zoo.data import olivetti

    held_out, people = olivetti.load_olivetti("held_out_people")
    assert sorted(set(people)) == list(olivetti.HELD_OUT_PEOPLE) and len(held_out) == 100
    train, train_people = olivetti.load_olivetti("train_people")
    assert len(train) == 300 and not set(train_people) & set(olivetti.HELD_OUT_PEOPLE)
    queries, query_people = olivetti.load_olivetti("held_out_people_test")
    assert len(queries) == 30 and set(query_people) == set(olivetti.HELD_OUT_PEOPLE)
    test_sets.check_training_data({"images": train}, family="vae")
    test_sets.check_training_data({"images": held_out}, family="classical")  # identification knows everyone
    with pytest.raises(InputError, match="olivetti_held_out_people"):
        test_sets.check_training_data({"images": [*train, held_out[0]]}, family="completion")


def test_clustering_may_train_on_the_digit_test_splits_and_nothing_else_may(data_dir):
    import zoo.data

    test, _ = zoo.data.load("mnist", "test[:5]")
    test_sets.check_training_data({"images": test}, family="clustering")  # DEC/IDEC/VaDE's protocol: all 70k
    with pytest.raises(InputError, match="mnist_test"):
        test_sets.check_training_data({"images": test}, family="vae")


def test_unknown_kinds_of_training_data_are_named():
    with pytest.raises(InputError, match="kinds must be among"):
        test_sets.check_training_data({"pictures": []})
