//! STIX 2.1 patterns, parsed by their grammar (STIX 2.1 part 9, "STIX Patterning"), and
//! the values they name that locate a constituent.
//!
//! A pattern names a value when it compares an object path with `=`, `IN (…)` or
//! `ISSUBSET`, not negated, anywhere in it: under `AND`, `OR` and `FOLLOWEDBY`, in every
//! observation. Each such value is an event. Paths that locate: `ipv4-addr:value`,
//! `ipv6-addr:value` (an address, or a network whose first address is taken),
//! `domain-name:value`, `url:value` (its host; an address literal is that address),
//! `email-addr:value` (its domain), `network-traffic:src_ref.value` and `dst_ref.value`,
//! and `autonomous-system:number`. What a pattern matches with `LIKE`, `MATCHES`,
//! `ISSUPERSET`, `!=`, `<`, `>` or `NOT` names no value, nor does a hash, a file name or
//! an email message's sender (which is easily forged).

use std::fmt;

/// A value a pattern names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Named {
    /// An address or a network (`198.51.100.64/26`).
    Address(String),
    /// A host name.
    Host(String),
    /// A URL.
    Url(String),
    /// An email address.
    Email(String),
    /// An autonomous system's number.
    Asn(u32),
}

impl Named {
    /// The value as text (for the kept row).
    pub(crate) fn text(&self) -> String {
        match self {
            Named::Address(v) | Named::Host(v) | Named::Url(v) | Named::Email(v) => v.clone(),
            Named::Asn(n) => format!("AS{n}"),
        }
    }
}

/// Why a pattern cannot be read: what was expected, and where (a character offset).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PatternError {
    at: usize,
    expected: String,
}

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "expected {} at character {}", self.expected, self.at + 1)
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    LBracket,
    RBracket,
    LParen,
    RParen,
    Colon,
    Dot,
    Comma,
    Star,
    Op(&'static str),
    Word(String),
    Str(String),
    /// `b'…'`, `h'…'`, `t'…'`.
    Tagged(char, String),
    Number(String),
}

fn lex(text: &str) -> Result<Vec<(usize, Token)>, PatternError> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    let err = |at: usize, what: &str| PatternError {
        at,
        expected: what.to_owned(),
    };
    let string = |i: &mut usize| -> Result<String, PatternError> {
        // At the opening quote.
        let start = *i;
        *i += 1;
        let mut value = String::new();
        loop {
            match chars.get(*i) {
                None => return Err(err(start, "a closing `'`")),
                Some('\\') => match chars.get(*i + 1) {
                    Some(c @ ('\'' | '\\')) => {
                        value.push(*c);
                        *i += 2;
                    }
                    _ => return Err(err(*i, "`\\'` or `\\\\` after a backslash")),
                },
                Some('\'') => {
                    *i += 1;
                    return Ok(value);
                }
                Some(c) => {
                    value.push(*c);
                    *i += 1;
                }
            }
        }
    };
    while let Some(&c) = chars.get(i) {
        let start = i;
        let single = match c {
            '[' => Some(Token::LBracket),
            ']' => Some(Token::RBracket),
            '(' => Some(Token::LParen),
            ')' => Some(Token::RParen),
            ':' => Some(Token::Colon),
            '.' if !chars.get(i + 1).is_some_and(char::is_ascii_digit) => Some(Token::Dot),
            ',' => Some(Token::Comma),
            '*' => Some(Token::Star),
            _ => None,
        };
        if let Some(t) = single {
            tokens.push((start, t));
            i += 1;
            continue;
        }
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let two: String = chars.iter().skip(i).take(2).collect();
        let op = match two.as_str() {
            "!=" | "<>" => Some(("!=", 2)),
            "<=" => Some(("<=", 2)),
            ">=" => Some((">=", 2)),
            _ => match c {
                '=' => Some(("=", 1)),
                '<' => Some(("<", 1)),
                '>' => Some((">", 1)),
                _ => None,
            },
        };
        if let Some((op, n)) = op {
            tokens.push((start, Token::Op(op)));
            i += n;
            continue;
        }
        if c == '\'' {
            tokens.push((start, Token::Str(string(&mut i)?)));
            continue;
        }
        if matches!(c, 'b' | 'h' | 't') && chars.get(i + 1) == Some(&'\'') {
            i += 1;
            tokens.push((start, Token::Tagged(c, string(&mut i)?)));
            continue;
        }
        if c.is_ascii_digit()
            || ((c == '-' || c == '+' || c == '.')
                && chars.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            let mut n = String::new();
            n.push(c);
            i += 1;
            while let Some(&d) = chars.get(i) {
                if d.is_ascii_digit() || d == '.' {
                    n.push(d);
                    i += 1;
                } else {
                    break;
                }
            }
            tokens.push((start, Token::Number(n)));
            continue;
        }
        if c.is_ascii_alphabetic() || c == '_' {
            let mut w = String::new();
            while let Some(&d) = chars.get(i) {
                if d.is_ascii_alphanumeric() || d == '_' || d == '-' {
                    w.push(d);
                    i += 1;
                } else {
                    break;
                }
            }
            tokens.push((start, Token::Word(w)));
            continue;
        }
        return Err(err(start, "a STIX pattern token"));
    }
    Ok(tokens)
}

/// One comparison of a pattern.
#[derive(Debug, Clone, PartialEq)]
struct Comparison {
    path: String,
    negated: bool,
    operator: String,
    values: Vec<Token>,
}

struct Parser {
    tokens: Vec<(usize, Token)>,
    at: usize,
    end: usize,
    comparisons: Vec<Comparison>,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at).map(|(_, t)| t)
    }

    fn offset(&self) -> usize {
        self.tokens.get(self.at).map_or(self.end, |(o, _)| *o)
    }

    fn error(&self, expected: &str) -> PatternError {
        PatternError {
            at: self.offset(),
            expected: expected.to_owned(),
        }
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.at).map(|(_, t)| t.clone());
        self.at += 1;
        t
    }

    fn word(&self, w: &str) -> bool {
        matches!(self.peek(), Some(Token::Word(x)) if x == w)
    }

    fn expect(&mut self, token: &Token, what: &str) -> Result<(), PatternError> {
        if self.peek() == Some(token) {
            self.at += 1;
            Ok(())
        } else {
            Err(self.error(what))
        }
    }

    /// observationExpressions, with FOLLOWEDBY, OR and AND between observations.
    fn observations(&mut self) -> Result<(), PatternError> {
        self.observation_and()?;
        while self.word("FOLLOWEDBY") || self.word("OR") || self.word("AND") {
            self.at += 1;
            self.observation_and()?;
        }
        Ok(())
    }

    fn observation_and(&mut self) -> Result<(), PatternError> {
        match self.peek() {
            Some(Token::LBracket) => {
                self.at += 1;
                self.comparison_or()?;
                self.expect(&Token::RBracket, "`]`")?;
            }
            Some(Token::LParen) => {
                self.at += 1;
                self.observations()?;
                self.expect(&Token::RParen, "`)`")?;
            }
            _ => return Err(self.error("`[` or `(` beginning an observation")),
        }
        self.qualifiers()
    }

    /// WITHIN n SECONDS, REPEATS n TIMES, START t'…' STOP t'…', any number.
    fn qualifiers(&mut self) -> Result<(), PatternError> {
        loop {
            if self.word("WITHIN") {
                self.at += 1;
                if !matches!(self.next(), Some(Token::Number(_))) {
                    return Err(self.error("a number of seconds after WITHIN"));
                }
                if !self.word("SECONDS") {
                    return Err(self.error("SECONDS"));
                }
                self.at += 1;
            } else if self.word("REPEATS") {
                self.at += 1;
                if !matches!(self.next(), Some(Token::Number(_))) {
                    return Err(self.error("a number after REPEATS"));
                }
                if !self.word("TIMES") {
                    return Err(self.error("TIMES"));
                }
                self.at += 1;
            } else if self.word("START") {
                self.at += 1;
                if !matches!(self.next(), Some(Token::Tagged('t', _))) {
                    return Err(self.error("a timestamp after START"));
                }
                if !self.word("STOP") {
                    return Err(self.error("STOP"));
                }
                self.at += 1;
                if !matches!(self.next(), Some(Token::Tagged('t', _))) {
                    return Err(self.error("a timestamp after STOP"));
                }
            } else {
                return Ok(());
            }
        }
    }

    fn comparison_or(&mut self) -> Result<(), PatternError> {
        self.comparison_and()?;
        while self.word("OR") {
            self.at += 1;
            self.comparison_and()?;
        }
        Ok(())
    }

    fn comparison_and(&mut self) -> Result<(), PatternError> {
        self.test()?;
        while self.word("AND") {
            self.at += 1;
            self.test()?;
        }
        Ok(())
    }

    fn test(&mut self) -> Result<(), PatternError> {
        if self.peek() == Some(&Token::LParen) {
            self.at += 1;
            self.comparison_or()?;
            return self.expect(&Token::RParen, "`)`");
        }
        if self.word("EXISTS") {
            self.at += 1;
            self.path()?;
            return Ok(());
        }
        let path = self.path()?;
        let negated = self.word("NOT");
        if negated {
            self.at += 1;
        }
        let operator = match self.next() {
            Some(Token::Op(op)) => op.to_owned(),
            Some(Token::Word(w))
                if matches!(
                    w.as_str(),
                    "IN" | "LIKE" | "MATCHES" | "ISSUBSET" | "ISSUPERSET"
                ) =>
            {
                w
            }
            _ => {
                self.at -= 1;
                return Err(self.error("a comparison operator"));
            }
        };
        let values = if operator == "IN" {
            self.expect(&Token::LParen, "`(` opening a set")?;
            let mut values = Vec::new();
            if self.peek() != Some(&Token::RParen) {
                values.push(self.literal()?);
                while self.peek() == Some(&Token::Comma) {
                    self.at += 1;
                    values.push(self.literal()?);
                }
            }
            self.expect(&Token::RParen, "`)` closing a set")?;
            values
        } else {
            vec![self.literal()?]
        };
        self.comparisons.push(Comparison {
            path,
            negated,
            operator,
            values,
        });
        Ok(())
    }

    fn literal(&mut self) -> Result<Token, PatternError> {
        match self.peek() {
            Some(Token::Str(_) | Token::Tagged(..) | Token::Number(_)) => {
                self.next().ok_or_else(|| self.error("a literal"))
            }
            Some(Token::Word(w)) if w == "true" || w == "false" => {
                self.next().ok_or_else(|| self.error("a literal"))
            }
            _ => Err(self.error("a literal")),
        }
    }

    /// objectType ':' component ('.' component | '[' index ']')*, as text.
    fn path(&mut self) -> Result<String, PatternError> {
        let Some(Token::Word(kind)) = self.next() else {
            self.at -= 1;
            return Err(self.error("an object path (such as `ipv4-addr:value`)"));
        };
        self.expect(&Token::Colon, "`:` after the object type")?;
        let mut path = format!("{kind}:");
        match self.next() {
            Some(Token::Word(w)) => path.push_str(&w),
            Some(Token::Str(s)) => path.push_str(&format!("'{s}'")),
            _ => {
                self.at -= 1;
                return Err(self.error("a property after `:`"));
            }
        }
        loop {
            match self.peek() {
                Some(Token::Dot) => {
                    self.at += 1;
                    match self.next() {
                        Some(Token::Word(w)) => path.push_str(&format!(".{w}")),
                        Some(Token::Str(s)) => path.push_str(&format!(".'{s}'")),
                        _ => {
                            self.at -= 1;
                            return Err(self.error("a property after `.`"));
                        }
                    }
                }
                Some(Token::LBracket) => {
                    self.at += 1;
                    match self.next() {
                        Some(Token::Number(n)) => path.push_str(&format!("[{n}]")),
                        Some(Token::Star) => path.push_str("[*]"),
                        _ => {
                            self.at -= 1;
                            return Err(self.error("an index or `*`"));
                        }
                    }
                    self.expect(&Token::RBracket, "`]` closing an index")?;
                }
                _ => return Ok(path),
            }
        }
    }
}

/// Parses a pattern; the values it names that locate a constituent, in order.
pub(crate) fn named_values(pattern: &str) -> Result<Vec<Named>, PatternError> {
    let tokens = lex(pattern)?;
    let mut parser = Parser {
        end: pattern.chars().count(),
        tokens,
        at: 0,
        comparisons: Vec::new(),
    };
    parser.observations()?;
    if parser.at < parser.tokens.len() {
        return Err(parser.error("the end of the pattern (or AND, OR, FOLLOWEDBY)"));
    }
    let mut named = Vec::new();
    for c in parser.comparisons {
        if c.negated || !matches!(c.operator.as_str(), "=" | "IN" | "ISSUBSET") {
            continue;
        }
        for value in c.values {
            let text = match &value {
                Token::Str(s) => s.clone(),
                Token::Number(n) => n.clone(),
                _ => continue,
            };
            let value = match (c.path.as_str(), c.operator.as_str()) {
                ("ipv4-addr:value" | "ipv6-addr:value", _) => Named::Address(text),
                (_, "ISSUBSET") => continue,
                ("domain-name:value", _) => Named::Host(text),
                ("url:value", _) => Named::Url(text),
                ("email-addr:value", _) => Named::Email(text),
                ("network-traffic:src_ref.value" | "network-traffic:dst_ref.value", _) => {
                    if text.parse::<std::net::IpAddr>().is_ok() || text.contains('/') {
                        Named::Address(text)
                    } else {
                        Named::Host(text)
                    }
                }
                ("autonomous-system:number", _) => match text.parse::<u32>() {
                    Ok(n) if n > 0 => Named::Asn(n),
                    _ => continue,
                },
                _ => continue,
            };
            if !named.contains(&value) {
                named.push(value);
            }
        }
    }
    Ok(named)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(pattern: &str) -> Vec<String> {
        match named_values(pattern) {
            Ok(v) => v.iter().map(|n| format!("{n:?}")).collect(),
            Err(e) => vec![format!("error: {e}")],
        }
    }

    #[test]
    fn every_value_a_pattern_names_is_found() {
        assert_eq!(
            names("[ipv4-addr:value = '198.51.100.1' OR ipv4-addr:value = '203.0.113.33']"),
            ["Address(\"198.51.100.1\")", "Address(\"203.0.113.33\")"]
        );
        assert_eq!(
            names("[domain-name:value = 'a.example'] AND [ipv4-addr:value = '198.51.100.2']"),
            ["Host(\"a.example\")", "Address(\"198.51.100.2\")"]
        );
        assert_eq!(
            names("[ipv4-addr:value ISSUBSET '198.51.100.64/26']"),
            ["Address(\"198.51.100.64/26\")"]
        );
        assert_eq!(
            names(
                "[url:value = 'http://198.51.100.20/a\\'b'] FOLLOWEDBY [email-addr:value = 'x@y.example'] WITHIN 600 SECONDS"
            ),
            [
                "Url(\"http://198.51.100.20/a'b\")",
                "Email(\"x@y.example\")"
            ]
        );
        assert_eq!(
            names(
                "[network-traffic:dst_ref.value IN ('198.51.100.3', 'c2.example') AND network-traffic:dst_port = 443]"
            ),
            ["Address(\"198.51.100.3\")", "Host(\"c2.example\")"]
        );
        assert_eq!(names("[autonomous-system:number = 64500]"), ["Asn(64500)"]);
        // Nothing named: negation, wildcards, hashes, orderings.
        for pattern in [
            "[ipv4-addr:value != '198.51.100.1']",
            "[ipv4-addr:value NOT = '198.51.100.1']",
            "[domain-name:value LIKE '%.example']",
            "[domain-name:value MATCHES '^a']",
            "[file:hashes.'SHA-256' = 'ef53']",
            "[file:size > 1000] REPEATS 5 TIMES",
            "[email-message:from_ref.value = 'boss@a.example']",
            "([ipv4-addr:value ISSUPERSET '198.51.100.1']) START t'2026-01-01T00:00:00Z' STOP t'2026-02-01T00:00:00Z'",
            "[EXISTS windows-registry-key:values[*].name]",
        ] {
            assert_eq!(names(pattern), Vec::<String>::new(), "{pattern}");
        }
        // Bad patterns are named, with where.
        for (pattern, says) in [
            ("[ipv4-addr:value = '198.51.100.1'", "`]`"),
            ("ipv4-addr:value = '198.51.100.1'", "`[` or `(`"),
            ("[ipv4-addr:value '1']", "a comparison operator"),
            ("[ipv4-addr:value = '1] ", "closing `'`"),
            ("[a:b = 'x'] OR", "`[` or `(`"),
            ("[a:b = 'x'] [c:d = 'y']", "the end of the pattern"),
        ] {
            let got = names(pattern).join("");
            assert!(
                got.starts_with("error: ") && got.contains(says),
                "{pattern}: {got}"
            );
        }
    }
}
