mod bad_input;
mod common;
mod discovery;
mod harness;
mod identity;
mod read_side;
