//! The wire envelope, as any client may send it (MessagePack or JSON).
#![no_main]
libfuzzer_sys::fuzz_target!(|bytes: &[u8]| mneme_fuzz::decode_envelope(bytes));
