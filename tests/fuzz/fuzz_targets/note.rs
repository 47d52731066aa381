//! The notes (text and Markdown) parser.
#![no_main]
libfuzzer_sys::fuzz_target!(|bytes: &[u8]| mneme_fuzz::parse_as(mneme_sources::Format::Note, bytes));
