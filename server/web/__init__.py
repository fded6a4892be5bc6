"""The HTTP surface: typed operations and the OpenAPI document generated from them, request
and response schemas, authentication, the interview and HR APIs, live signaling."""
