//! A tiny argument parser: positional arguments and `-o VALUE` style
//! options, with errors that say what was wrong.

/// Parsed arguments of one subcommand.
#[derive(Debug, Default)]
pub(crate) struct Args {
    /// Positional arguments in order.
    pub(crate) positional: Vec<String>,
    /// Options with a value, as (name, value).
    pub(crate) options: Vec<(String, String)>,
}

impl Args {
    /// Parses `args`; `valued` lists the options that take a value (e.g.
    /// `["-o", "--output"]`). Anything else starting with `-` is an error.
    pub(crate) fn parse(args: &[String], valued: &[&str]) -> Result<Self, String> {
        let mut out = Self::default();
        let mut it = args.iter();
        while let Some(a) = it.next() {
            if a.starts_with('-') && a.len() > 1 {
                if valued.contains(&a.as_str()) {
                    let v = it
                        .next()
                        .ok_or_else(|| format!("option {a} needs a value"))?;
                    out.options.push((a.clone(), v.clone()));
                } else {
                    return Err(format!("unknown option {a}"));
                }
            } else {
                out.positional.push(a.clone());
            }
        }
        Ok(out)
    }

    /// The value of the last of `names` given, if any.
    pub(crate) fn option(&self, names: &[&str]) -> Option<&str> {
        self.options
            .iter()
            .rev()
            .find(|(n, _)| names.contains(&n.as_str()))
            .map(|(_, v)| v.as_str())
    }

    /// Exactly one positional argument named `what`.
    pub(crate) fn one_positional(&self, what: &str) -> Result<&str, String> {
        match self.positional.as_slice() {
            [one] => Ok(one),
            [] => Err(format!("missing {what}")),
            more => Err(format!("expected one {what}, got {} arguments", more.len())),
        }
    }
}
