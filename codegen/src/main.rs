//! The `kube-codegen` command.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Typed Kubernetes clientsets, listers and informers for Rust.
#[derive(Parser)]
#[command(name = "kube-codegen", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List the API resources found in OpenAPI documents and CRDs.
    List {
        /// Print a JSON array instead of a table.
        #[arg(long)]
        json: bool,
        /// OpenAPI v2/v3 documents, CRD manifests, or directories of them.
        #[arg(required = true, value_name = "INPUT")]
        inputs: Vec<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::List { json, inputs } => {
            let model = match kube_codegen_openapi::read(&inputs) {
                Ok(m) => m,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(2);
                }
            };
            let text = if json { kube_codegen::list::json(&model) } else { kube_codegen::list::table(&model) };
            // A closed pipe (`| head`) is not an error worth a panic.
            let _ = std::io::stdout().lock().write_all(text.as_bytes());
            ExitCode::SUCCESS
        }
    }
}
