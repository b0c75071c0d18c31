//! Reading the history: this repository's sessions from the store and the archive alone, as
//! the commands that read them (`search`) need them.
//!
//! - [`corpus`]: every session once, newest first, with the copy to read;
//! - [`search`]: matching a pattern against them, with the filters; [`lines`]: which text of
//!   a session is searched; [`when`]: dates and ages on the command line.

mod archived;
pub mod corpus;
pub mod lines;
pub mod search;
pub mod when;
