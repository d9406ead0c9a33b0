//! The subcommands other than `serve`: what they do and what they print.
//! `main` only dispatches here and turns the outcome into an exit status.

pub mod keys;
pub mod lint;
