mod bad_input;
mod common;
mod discovery;
mod harness;
mod read_side;
