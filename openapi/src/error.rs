//! Errors that name the input file and the place in it.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::model::Origin;

/// A problem with the inputs: which file, where in it, and what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// The input file (or directory) at fault.
    pub file: PathBuf,
    /// The 0-based document index in a multi-document YAML file.
    pub document: Option<usize>,
    /// Where in the file.
    pub location: Location,
    /// What is wrong, and what was expected.
    pub message: String,
}

/// A place in an input file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// The file as a whole.
    File,
    /// A 1-based line and column, for syntax errors.
    Line {
        /// Line, from 1.
        line: u64,
        /// Column, from 1.
        column: u64,
    },
    /// An RFC 6901 JSON pointer into the document.
    Pointer(String),
}

impl Error {
    /// An error about a whole file.
    pub(crate) fn file(file: &Path, message: impl Into<String>) -> Error {
        Error { file: file.to_owned(), document: None, location: Location::File, message: message.into() }
    }

    /// An error at a line and column.
    pub(crate) fn line(file: &Path, line: u64, column: u64, message: impl Into<String>) -> Error {
        Error {
            file: file.to_owned(),
            document: None,
            location: Location::Line { line, column },
            message: message.into(),
        }
    }

    /// An error at a JSON pointer of a document.
    pub(crate) fn at(origin: &Origin, message: impl Into<String>) -> Error {
        Error {
            file: origin.file.to_path_buf(),
            document: origin.document,
            location: Location::Pointer(origin.pointer.clone()),
            message: message.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(d) = self.document {
            write!(f, " (document {})", d + 1)?;
        }
        match &self.location {
            Location::File => {}
            Location::Line { line, column } => write!(f, ":{line}:{column}")?,
            Location::Pointer(p) if p.is_empty() => write!(f, " at the document root")?,
            Location::Pointer(p) => write!(f, " at {p}")?,
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for Error {}
