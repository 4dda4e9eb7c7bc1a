"""The service layer: the only code that changes state. Functions are business verbs taking the
session first and keyword-only plain values; each public verb commits once."""
