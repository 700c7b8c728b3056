//! Which Regions an invocation works in: the event's `regions`, else the
//! `REGIONS` setting, else the function's own Region alone (the
//! single-Region response). Pure: the names in, checked, and the list out.

/// Regions as the event or `REGIONS` names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Regions {
    /// Every Region enabled for the account (AWS Account `ListRegions`).
    All,
    /// These, in this order.
    Named(Vec<String>),
}

impl Regions {
    /// A list of Region names: at least one, each valid, none twice.
    pub fn named<S: AsRef<str>>(names: &[S]) -> Result<Regions, String> {
        if names.is_empty() {
            return Err("must name at least one Region".into());
        }
        let mut seen = std::collections::HashSet::new();
        for (i, name) in names.iter().enumerate() {
            let name = name.as_ref();
            check_region(name).map_err(|why| format!("Region {}: {why}", i + 1))?;
            if !seen.insert(name) {
                return Err(format!("Region {name} is named twice"));
            }
        }
        Ok(Regions::Named(
            names.iter().map(|n| n.as_ref().to_owned()).collect(),
        ))
    }

    /// How many Regions are named; `None` for all of them.
    pub fn count(&self) -> Option<usize> {
        match self {
            Regions::All => None,
            Regions::Named(names) => Some(names.len()),
        }
    }
}

/// A Region name: lower-case ASCII letters, digits and `-` (`us-east-1`,
/// `us-gov-west-1`). The reason never echoes the name.
pub fn check_region(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("a Region name cannot be empty".into());
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(
            "a Region name holds only lower-case letters, digits and '-' (like us-east-1)".into(),
        );
    }
    Ok(())
}

/// The enabled Regions, as `ListRegions` lists them, sorted by name.
pub fn sorted(mut names: Vec<String>) -> Vec<String> {
    names.sort();
    names.dedup();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_names_are_lower_case_letters_digits_and_dashes() {
        for good in ["us-east-1", "us-gov-west-1", "eu-central-2", "x"] {
            assert!(check_region(good).is_ok(), "{good}");
        }
        for bad in ["", "US-EAST-1", "us_east_1", "us-east-1 ", "eu/west", "ü"] {
            assert!(check_region(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_list_names_distinct_valid_regions() {
        assert_eq!(
            Regions::named(&["eu-west-1", "us-east-1"]),
            Ok(Regions::Named(vec!["eu-west-1".into(), "us-east-1".into()]))
        );
        assert!(Regions::named::<&str>(&[]).is_err());
        assert!(Regions::named(&["eu-west-1", "eu-west-1"]).is_err());
        assert!(Regions::named(&["eu-west-1", "EU"]).is_err());
    }

    #[test]
    fn all_regions_come_sorted() {
        assert_eq!(
            sorted(vec![
                "us-east-1".into(),
                "ap-east-1".into(),
                "eu-west-1".into()
            ]),
            ["ap-east-1", "eu-west-1", "us-east-1"]
        );
    }
}
