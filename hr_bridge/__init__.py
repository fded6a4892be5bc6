"""The HR record store (EHR) and adapters to outside HR systems."""
