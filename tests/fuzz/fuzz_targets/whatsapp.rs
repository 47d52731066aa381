//! The WhatsApp export parser.
#![no_main]
libfuzzer_sys::fuzz_target!(|bytes: &[u8]| mneme_fuzz::parse_as(mneme_sources::Format::WhatsApp, bytes));
