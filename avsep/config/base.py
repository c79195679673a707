"""The base of every parameter section: unknown keys are errors, values are checked on assignment."""

from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

T = TypeVar("T")


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)

    # params.yaml writes a section marked so on one line in YAML flow style ({paper: 1, demo: 2}), documented by
    # the description of the field that holds it (avsep.config.document); the others are blocks of their keys.
    yaml_inline: ClassVar[bool] = False

    @model_validator(mode="before")
    @classmethod
    def _partial_sections_keep_their_defaults(cls, data):
        # A mapping given for a section field fills the keys it leaves out from that field's own default, not from
        # the section class's: `--set separation.demo.epochs=2` keeps the demo's other values (the class defaults
        # are the paper's), and `--set dmc.heatmap.demo=x` keeps the paper's value beside it.
        if not isinstance(data, dict):
            return data
        merged = None
        for name, field in cls.model_fields.items():
            key = field.alias if field.alias in data else name
            given = data.get(key)
            if not isinstance(given, dict):
                continue
            default = field.get_default(call_default_factory=True)
            if not isinstance(default, BaseModel):
                continue
            merged = dict(data) if merged is None else merged
            merged[key] = {**_unset_in(default, given), **given}
        return data if merged is None else merged


def _unset_in(default: BaseModel, given: dict) -> dict:
    """The values of ``default`` whose keys ``given`` leaves out, keyed as ``given`` keys them (by alias, or by
    name as ``model_dump()`` does)."""
    dumped = default.model_dump()
    out = {}
    for name, field in type(default).model_fields.items():
        if name in given or (field.alias and field.alias in given):
            continue
        out[field.alias or name] = dumped[name]
    return out


class ByProfile(Section, Generic[T]):
    """A choice per profile (``profile: paper|demo``): the paper's value, and the one the CPU demo was tuned to.

    ``ByProfile[Literal["assignment", "agreement"]]`` validates both values against the same type;
    ``.get(params.profile)`` is the value a run uses. A bare value (``--set dmc.heatmap=assignment``,
    ``pretrain.methods: []``) is both profiles' value, so an override written before the key had a value per
    profile keeps its meaning.
    """

    yaml_inline = True

    paper: T = Field(description="value under profile: paper (the paper's, or its released code's)")
    demo: T = Field(description="value under profile: demo (tuned on the built-in world)")

    @model_validator(mode="before")
    @classmethod
    def _both(cls, data: Any) -> Any:
        if isinstance(data, (dict, BaseModel)):
            return data
        return {"paper": data, "demo": data}

    def get(self, profile: str) -> T:
        if profile not in ("paper", "demo"):
            raise ValueError(f"profile {profile!r}: expected paper or demo")
        return getattr(self, profile)
