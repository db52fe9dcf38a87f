//! Argument files (`xdrgen @FILE`): the words of a file, split as a shell
//! splits them without expansion, so a file holds exactly what a command
//! line would. The CLI expands `@FILE` with it; build scripts and tests that
//! keep their flags in such a file read it here.

use std::path::Path;

use crate::Error;

/// The words of the argument file at `path`.
pub fn read(path: impl AsRef<Path>) -> Result<Vec<String>, Error> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    split_words(&text)
        .map_err(|e| Error::Config(format!("argument file `{}`: {e}", path.display())))
}

/// Splits an argument file into words, as a shell would without expansion:
/// quotes group, a backslash escapes, `#` at the start of a word comments
/// out the rest of its line.
pub fn split_words(text: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut chars = text.chars().peekable();
    let mut line = 1;
    loop {
        while let Some(c) = chars.next_if(|c| c.is_whitespace()) {
            line += usize::from(c == '\n');
        }
        let Some(first) = chars.peek().copied() else {
            return Ok(words);
        };
        if first == '#' {
            while chars.next_if(|c| *c != '\n').is_some() {}
            continue;
        }
        let mut word = String::new();
        while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
            match c {
                '\'' => loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err(format!("line {line}: unterminated '")),
                    }
                },
                '"' => loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') if chars.peek().is_some_and(|c| matches!(c, '"' | '\\')) => {
                            word.extend(chars.next());
                        }
                        Some(c) => word.push(c),
                        None => return Err(format!("line {line}: unterminated \"")),
                    }
                },
                '\\' => match chars.next() {
                    // A line continuation.
                    Some('\n') => line += 1,
                    Some(c) => word.push(c),
                    None => word.push('\\'),
                },
                c => word.push(c),
            }
        }
        words.push(word);
    }
}

#[cfg(test)]
mod tests {
    use super::split_words;

    #[test]
    fn argument_files_split_like_a_shell() {
        let text = "# libvirt\n-D VIR_UUID_BUFLEN=16  # inline comment\n\
                    --type-attribute 'nfs_fh3=#[derive(PartialOrd, Ord)]'\n\
                    \"a \\\"b\\\"\" c\\ d e#f\n";
        assert_eq!(
            split_words(text).unwrap(),
            [
                "-D",
                "VIR_UUID_BUFLEN=16",
                "--type-attribute",
                "nfs_fh3=#[derive(PartialOrd, Ord)]",
                "a \"b\"",
                "c d",
                "e#f"
            ]
        );
        assert_eq!(
            split_words("-D 'X\n").unwrap_err(),
            "line 1: unterminated '"
        );
        assert!(split_words("  \n# only a comment\n").unwrap().is_empty());
    }
}
