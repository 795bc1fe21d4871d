"""Pause forms for the Prefect UI that keep their Vietnamese titles, descriptions and checks."""

from __future__ import annotations

from typing import Any, TypeVar

from prefect.input import RunInput
from pydantic import create_model
from pydantic.fields import FieldInfo

FormT = TypeVar("FormT", bound=RunInput)


def form_with_defaults(form: type[FormT], description: str, **defaults: Any) -> type[FormT]:
    """The form with these defaults and this description, keeping each field's title, description and limits.

    RunInput.with_initial_data redeclares each field as a bare default, so the UI would show the English
    field names ("Approver") and drop min_length; this merges the defaults into the declared fields instead.
    """
    fields: dict[str, Any] = {
        name: (form.model_fields[name].annotation, FieldInfo.merge_field_infos(form.model_fields[name], default=value))
        for name, value in defaults.items()
    }
    made = create_model(form.__name__, __base__=form, **fields)
    made._description = description  # the attribute RunInput.with_initial_data sets: shown above the form
    return made
