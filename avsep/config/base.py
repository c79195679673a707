"""The base of every parameter section: unknown keys are errors, values are checked on assignment."""

from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

T = TypeVar("T")


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)

    # params.yaml writes a section marked so on one line in YAML flow style ({paper: 1, demo: 2}), documented by
    # the description of the field that holds it (avsep.config.document); the others are blocks of their keys.
    yaml_inline: ClassVar[bool] = False


class ByProfile(Section, Generic[T]):
    """A choice per profile (``profile: paper|demo``): the paper's value, and the one the CPU demo was tuned to.

    ``ByProfile[Literal["assignment", "agreement"]]`` validates both values against the same type;
    ``.get(params.profile)`` is the value a run uses. A bare value (``--set dmc.heatmap=assignment``,
    ``pretrain.methods: []``) is both profiles' value, so an override written before the key had a value per
    profile keeps its meaning.
    """

    yaml_inline = True

    paper: T = Field(description="value under profile: paper")
    demo: T = Field(description="value under profile: demo")

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
