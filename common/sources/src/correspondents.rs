//! Reading the names records give their correspondents (`Name <address>`, a bare address, a chat `@handle` or
//! a display name) and telling an organization's from a person's: mail from an employer's HR, a letting agent
//! or a race's organizers is contact, but no one in the owner's life. Decided from the name alone, so that
//! names kept before a rule existed are judged by it too.

use unicode_normalization::UnicodeNormalization;

/// The forms a correspondent's name takes apart.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Correspondent {
    pub display: Option<String>,
    /// Lower case.
    pub address: Option<String>,
    /// Lower case, without its `@`.
    pub handle: Option<String>,
}

impl Correspondent {
    pub fn parse(name: &str) -> Self {
        let name = name.trim();
        if let Some(handle) = name.strip_prefix('@') {
            return Correspondent { handle: Some(handle.to_lowercase()), ..Correspondent::default() };
        }
        if let (Some(open), Some(inner)) = (name.find('<'), name.strip_suffix('>')) {
            let display = name[..open].trim().trim_matches(['"', '\'']).trim();
            return Correspondent {
                display: (!display.is_empty()).then(|| display.to_owned()),
                address: Some(inner[open + 1..].trim().to_lowercase()),
                handle: None,
            };
        }
        if name.contains('@') && !name.contains(char::is_whitespace) {
            return Correspondent { address: Some(name.to_lowercase()), ..Correspondent::default() };
        }
        Correspondent { display: Some(name.to_owned()), ..Correspondent::default() }
    }

    /// Whether the name is an organization's: a display name with a word such as "Lettings" or "HR", or a role
    /// mailbox such as `hr@` or `no-reply@`.
    pub fn is_organization(&self) -> bool {
        self.display.as_deref().is_some_and(|display| is_organization_name(&fold(display)))
            || self.address.as_deref().is_some_and(is_role_address)
    }
}

/// Lower case, accents and punctuation gone, one space between words.
pub fn fold(text: &str) -> String {
    let plain: String = text
        .nfd()
        .filter(|character| !('\u{300}'..='\u{36f}').contains(character))
        .map(|character| if character.is_alphanumeric() { character } else { ' ' })
        .flat_map(char::to_lowercase)
        .collect();
    plain.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Mailboxes that belong to a function rather than a person: RFC 2142's and the ones businesses send from.
const ROLE_MAILBOXES: [&str; 64] = [
    "abuse",
    "accounts",
    "admin",
    "alerts",
    "billing",
    "bookings",
    "bounce",
    "bounces",
    "care",
    "careers",
    "community",
    "compliance",
    "contact",
    "customercare",
    "customerservice",
    "donotreply",
    "enquiries",
    "events",
    "feedback",
    "finance",
    "frontdesk",
    "ftp",
    "hello",
    "help",
    "helpdesk",
    "hostmaster",
    "hr",
    "info",
    "inquiries",
    "invoices",
    "jobs",
    "legal",
    "lettings",
    "mailerdaemon",
    "marketing",
    "members",
    "membership",
    "news",
    "newsletter",
    "newsletters",
    "noc",
    "noreply",
    "notifications",
    "notify",
    "offers",
    "office",
    "orders",
    "payroll",
    "postmaster",
    "press",
    "privacy",
    "promotions",
    "receipts",
    "reception",
    "recruiting",
    "recruitment",
    "rentals",
    "reservations",
    "sales",
    "security",
    "service",
    "support",
    "team",
    "webmaster",
];

/// Words that make a name an organization's. None is a given name or a surname of the privacy guardian's name
/// lists (so "Ann Sales" and "Tom Bank" stay people); words such as "Bank" and "Council" are left out for that.
const ORGANIZATION_WORDS: [&str; 78] = [
    "academy",
    "agency",
    "airlines",
    "airways",
    "association",
    "bakery",
    "banking",
    "broadband",
    "cafe",
    "careers",
    "cinema",
    "clinic",
    "club",
    "college",
    "company",
    "consulting",
    "corporation",
    "customer",
    "delivery",
    "dental",
    "department",
    "energy",
    "estates",
    "festival",
    "fitness",
    "foundation",
    "gmbh",
    "group",
    "gym",
    "helpdesk",
    "holdings",
    "hospital",
    "hotel",
    "hotels",
    "hr",
    "inc",
    "incorporated",
    "industries",
    "insurance",
    "labs",
    "lettings",
    "library",
    "limited",
    "llc",
    "llp",
    "ltd",
    "magazine",
    "marathon",
    "market",
    "marketing",
    "media",
    "museum",
    "newsletter",
    "notifications",
    "pharmacy",
    "plc",
    "properties",
    "railway",
    "realty",
    "recruitment",
    "reservations",
    "restaurant",
    "school",
    "services",
    "shop",
    "society",
    "solutions",
    "store",
    "studio",
    "studios",
    "support",
    "surgery",
    "team",
    "telecom",
    "theater",
    "theatre",
    "travel",
    "university",
];

/// Whether `display` (a display name, folded: lower case, one space between words) names an organization.
fn is_organization_name(display: &str) -> bool {
    display.split(' ').any(|word| ORGANIZATION_WORDS.binary_search(&word).is_ok())
}

/// Whether `address` (lower case) is a role mailbox: `hr@`, `no-reply@`, `support+eu@`.
fn is_role_address(address: &str) -> bool {
    let local = address.split('@').next().unwrap_or_default();
    let local = local.split('+').next().unwrap_or_default();
    let plain: String = local.chars().filter(|character| !matches!(character, '.' | '-' | '_')).collect();
    ROLE_MAILBOXES.binary_search(&plain.as_str()).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_word_lists_are_sorted_for_binary_search() {
        assert!(ROLE_MAILBOXES.is_sorted(), "ROLE_MAILBOXES");
        assert!(ORGANIZATION_WORDS.is_sorted(), "ORGANIZATION_WORDS");
    }

    #[test]
    fn role_mailboxes_are_known_in_their_spellings() {
        for address in ["hr@fieldwork.studio", "no-reply@example.com", "do_not_reply@x.org", "support+eu@shop.example"]
        {
            assert!(is_role_address(address), "{address}");
        }
        for address in ["lena@example.com", "hr.lee@example.com", "info.smith@example.com", "anna.keller@example.org"] {
            assert!(!is_role_address(address), "{address}");
        }
    }

    #[test]
    fn names_come_apart_into_their_forms() {
        let parsed = Correspondent::parse("\"Fieldwork HR\" <HR@Fieldwork.Studio>");
        assert_eq!(parsed.display.as_deref(), Some("Fieldwork HR"));
        assert_eq!(parsed.address.as_deref(), Some("hr@fieldwork.studio"));
        assert_eq!(Correspondent::parse("@Lena_K").handle.as_deref(), Some("lena_k"));
        assert_eq!(Correspondent::parse("omar@example.com").address.as_deref(), Some("omar@example.com"));
        assert_eq!(Correspondent::parse("Anna Keller").display.as_deref(), Some("Anna Keller"));
    }

    #[test]
    fn correspondents_are_organizations_by_their_name_or_their_mailbox() {
        for name in ["Fieldwork HR <hr@fieldwork.studio>", "no-reply@example.com", "Greenway Lettings"] {
            assert!(Correspondent::parse(name).is_organization(), "{name}");
        }
        for name in ["Priya Shah <priya@fieldwork.studio>", "Lena", "@omar", "Mum <mum@example.com>"] {
            assert!(!Correspondent::parse(name).is_organization(), "{name}");
        }
    }

    #[test]
    fn organizations_are_told_by_a_word_of_their_name() {
        for name in ["greenway lettings", "richmond marathon", "fieldwork hr", "acme ltd", "riverside dental surgery"] {
            assert!(is_organization_name(name), "{name}");
        }
        for name in ["lena", "anna keller", "tom bank", "ann sales", "grace council", "mum"] {
            assert!(!is_organization_name(name), "{name}");
        }
    }
}
