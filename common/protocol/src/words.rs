//! Counts as people say them, for the texts agents and the CLI show: "1 memory", "3 memories".

use std::fmt::Display;

/// `count` with its noun, in the singular for one.
pub fn counted<T: Display + PartialEq + From<u8>>(count: T, one: &str, many: &str) -> String {
    let noun = if count == T::from(1) { one } else { many };
    format!("{count} {noun}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_is_singular_and_every_other_count_plural() {
        assert_eq!(counted(1_usize, "memory", "memories"), "1 memory");
        assert_eq!(counted(0_u64, "memory", "memories"), "0 memories");
        assert_eq!(counted(12_i64, "day", "days"), "12 days");
    }
}
