//! Credentials from the environment (filled in by the authentication work).
