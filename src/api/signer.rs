//! SDK-HMAC-SHA256 request signing (filled in by the authentication work).
