//! Format detection, and reading a file as the format detected.
#![no_main]
libfuzzer_sys::fuzz_target!(|bytes: &[u8]| mneme_fuzz::detect_and_parse(bytes));
