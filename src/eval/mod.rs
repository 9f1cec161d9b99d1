//! eval stage (to be implemented by its issue).
