"""The class vocabularies a dataset can carry: the names every class-aware output is indexed by.

A vocabulary is an ordered tuple of class names (class index = position); ``dataset.classes`` chooses one by
name or lists its own. Each built-in vocabulary keeps, per class, the AudioSet ontology MID and display name
where AudioSet has the class, so an index that labels clips by MID or by AudioSet name (the ``audioset``
source does) maps onto the same names (:meth:`Vocabulary.class_of`).

- ``music11``: the 11 MUSIC instruments, sorted (MUSIC's own index order); the built-in world draws from them.
  AudioSet has no tuba, xylophone-only or erhu node, so those carry no MID.
- ``audioset_instruments15``: the 15 AudioSet instruments MSSL (Sec. 4.1) and DSOL (Sec. 4) take from
  Gao et al. 2018 (their reference [10] / [11]), whose Faster R-CNN detector gives the evaluation boxes.
- ``flickr7``: the 7 top-level AudioSet categories MSSL uses as pseudo-labels for SoundNet-Flickr (Sec. 4.3).
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_VOCABULARY = "music11"


@dataclass(frozen=True)
class VocabularyClass:
    """One class: ``name`` (the label a sample carries), and its AudioSet ``mid`` and ``audioset_name`` if any."""

    name: str
    mid: str | None = None
    audioset_name: str | None = None


@dataclass(frozen=True)
class Vocabulary:
    """An ordered class list; ``name`` is the built-in name or ``"custom"`` for a list given in params."""

    name: str
    entries: tuple[VocabularyClass, ...]

    @property
    def classes(self) -> tuple[str, ...]:
        return tuple(entry.name for entry in self.entries)

    def class_of(self, label: str) -> str | None:
        """The class name ``label`` stands for (itself, or the class whose AudioSet MID or display name it is);
        ``None`` for a label outside the vocabulary."""
        for entry in self.entries:
            if label in (entry.name, entry.mid, entry.audioset_name):
                return entry.name
        return None


def _sorted(name: str, *entries: VocabularyClass) -> Vocabulary:
    # Class index = position in the sorted names, as MUSIC indexes its classes.
    return Vocabulary(name, tuple(sorted(entries, key=lambda e: e.name)))


C = VocabularyClass
MUSIC11 = _sorted(
    "music11",
    C("accordion", "/m/0mkg", "Accordion"),
    C("acoustic_guitar", "/m/042v_gx", "Acoustic guitar"),
    C("cello", "/m/01xqw", "Cello"),
    C("clarinet", "/m/01wy6", "Clarinet"),
    C("erhu"),
    C("flute", "/m/0l14j_", "Flute"),
    C("saxophone", "/m/06ncr", "Saxophone"),
    C("trumpet", "/m/07gql", "Trumpet"),
    C("tuba"),
    C("violin", "/m/07y_7", "Violin, fiddle"),
    C("xylophone"),
)
AUDIOSET_INSTRUMENTS15 = _sorted(
    "audioset_instruments15",
    C("accordion", "/m/0mkg", "Accordion"),
    C("acoustic_guitar", "/m/042v_gx", "Acoustic guitar"),
    C("banjo", "/m/018j2", "Banjo"),
    C("cello", "/m/01xqw", "Cello"),
    C("drum", "/m/026t6", "Drum"),
    C("electric_guitar", "/m/02sgy", "Electric guitar"),
    C("flute", "/m/0l14j_", "Flute"),
    C("french_horn", "/m/0319l", "French horn"),
    C("harmonica", "/m/03qjg", "Harmonica"),
    C("harp", "/m/03m5k", "Harp"),
    C("marimba", "/m/0dwsp", "Marimba, xylophone"),
    C("piano", "/m/05r5c", "Piano"),
    C("saxophone", "/m/06ncr", "Saxophone"),
    C("trombone", "/m/07c6l", "Trombone"),
    C("violin", "/m/07y_7", "Violin, fiddle"),
)
FLICKR7 = _sorted(
    "flickr7",
    C("animal", "/m/0jbk", "Animal"),
    C("environment", "/t/dd00123", "Channel, environment and background"),
    C("human_sounds", "/m/0dgw9r", "Human sounds"),
    C("music", "/m/04rlf", "Music"),
    C("natural_sounds", "/m/059j3w", "Natural sounds"),
    C("sounds_of_things", "/t/dd00041", "Sounds of things"),
    C("source_ambiguous_sounds", "/t/dd00098", "Source-ambiguous sounds"),
)
del C
VOCABULARIES: dict[str, Vocabulary] = {v.name: v for v in (MUSIC11, AUDIOSET_INSTRUMENTS15, FLICKR7)}
MUSIC_CLASSES: tuple[str, ...] = MUSIC11.classes  # the world's and MUSIC's, sorted (class index = position)


def vocabulary(spec: str | list[str] | tuple[str, ...]) -> Vocabulary:
    """The vocabulary ``dataset.classes`` names: a built-in name, or a list of class names in index order.

    Raises ValueError naming the value and the reason (unknown name, empty or repeating list)."""
    if isinstance(spec, str):
        if spec not in VOCABULARIES:
            raise ValueError(f"unknown class vocabulary {spec!r}: built-in are {', '.join(VOCABULARIES)}, or a list")
        return VOCABULARIES[spec]
    names = list(spec)
    if not names:
        raise ValueError("an empty class list: a dataset needs at least one class")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"class list repeats {', '.join(repeated)}")
    blank = [name for name in names if not name.strip() or "," in name]
    if blank:
        raise ValueError(f"class name {blank[0]!r}: empty, or with a comma (indexes separate labels by commas)")
    return Vocabulary("custom", tuple(VocabularyClass(name) for name in names))


def is_default(spec: str | list[str] | tuple[str, ...]) -> bool:
    """Whether ``spec`` is the default vocabulary (by name, or as the very same list)."""
    return vocabulary(spec).classes == MUSIC_CLASSES
