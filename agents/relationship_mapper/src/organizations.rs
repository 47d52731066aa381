//! Whether a name in the memories is an organization's: mail from an employer's HR, a letting agent or a race's
//! organizers is contact, but no one in the owner's life. Decided from the name alone, so that references kept
//! before this rule existed are judged by it too.

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
pub(crate) fn is_organization_name(display: &str) -> bool {
    display.split(' ').any(|word| ORGANIZATION_WORDS.binary_search(&word).is_ok())
}

/// Whether `address` (lower case) is a role mailbox: `hr@`, `no-reply@`, `support+eu@`.
pub(crate) fn is_role_address(address: &str) -> bool {
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
    fn organizations_are_told_by_a_word_of_their_name() {
        for name in ["greenway lettings", "richmond marathon", "fieldwork hr", "acme ltd", "riverside dental surgery"] {
            assert!(is_organization_name(name), "{name}");
        }
        for name in ["lena", "anna keller", "tom bank", "ann sales", "grace council", "mum"] {
            assert!(!is_organization_name(name), "{name}");
        }
    }
}
