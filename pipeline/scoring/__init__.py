"""Competency scoring: rubrics, language resources and the pure scoring fold."""
