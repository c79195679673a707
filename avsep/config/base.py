"""The base of every parameter section: unknown keys are errors, values are checked on assignment."""

from typing import ClassVar

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)

    # params.yaml writes a section marked so on one line in YAML flow style ({paper: 1, demo: 2}), documented by
    # the description of the field that holds it (avsep.config.document); the others are blocks of their keys.
    yaml_inline: ClassVar[bool] = False
