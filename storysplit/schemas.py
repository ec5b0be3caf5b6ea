"""What `storysplit serve` takes and answers: the HTTP contract, as pydantic models.

FastAPI validates requests against these models and publishes them as OpenAPI (`/openapi.json`,
`/docs`), so this module is the one place a field, its type or its limits are defined. The models
are strict (no `"0.5"` for a number, no `1` for a boolean) and refuse unknown fields: a typo such as
`"treshold"` is an error, not a silently ignored option.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr, field_validator

from storysplit.documents import check_text
from storysplit.errors import InputError
from storysplit.labels import SegmentLabel


class SegmentRequest(BaseModel):
    """A document to segment (`POST /segment`)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"text": "Headline\nStory"}]})

    text: StrictStr = Field(description="the page's plain text, UTF-8; not empty, no NUL characters")
    threshold: float | None = Field(
        default=None,
        gt=0.0,
        lt=1.0,
        allow_inf_nan=False,
        strict=True,
        description="keep segments with p(main) >= this (default: the model's)",
    )
    keep_removed: StrictBool = Field(default=False, description="also answer the dropped text")

    @field_validator("text")
    @classmethod
    def _usable_text(cls, text: str) -> str:
        """Refuse what `storysplit segment` refuses: empty text, NULs, lone surrogates."""
        try:
            return check_text(text, '"text"')
        except InputError as error:
            raise ValueError(str(error)) from None


class SegmentOut(BaseModel):
    """One segment of the input: `text[start:end]`, its label and p(main)."""

    start: int = Field(ge=0, description="offset of the first character, in Unicode code points")
    end: int = Field(ge=0, description="offset after the last character")
    label: SegmentLabel
    probability: float = Field(ge=0.0, le=1.0, description="p(main) after decoding")


class SegmentResponse(BaseModel):
    """The same record as a line of `storysplit segment --format jsonl`."""

    main_text: str = Field(description="the kept segments, one per line, a blank line between paragraphs")
    removed_text: str | None = Field(default=None, description="the dropped segments; only with keep_removed")
    segments: list[SegmentOut]


class Health(BaseModel):
    """What the server runs (`GET /health`)."""

    status: str = Field(examples=["ok"])
    model_manifest_sha256: str | None = Field(description="SHA-256 of the model's manifest.json: its name")
    feature_version: str | None = Field(description="the feature code version the model was trained with")
    threshold: float = Field(description="the model's default threshold")


class ErrorMessage(BaseModel):
    """Every refusal (4xx) and failure (5xx): what went wrong, in words."""

    error: str = Field(examples=['"threshold": Input should be less than 1, got 1.5'])
