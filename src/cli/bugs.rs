//! `odradek bugs`: the bug zoo's catalogue.

use odradek::bugs::Bug;

use super::Exit;

pub(crate) fn list() -> Exit {
    println!(
        "{:<30} {:<22} {:<75} source",
        "name", "caught by", "what it does"
    );
    for bug in Bug::ALL {
        println!(
            "{:<30} {:<22} {:<75} {}",
            bug.name(),
            bug.expected().name(),
            bug.description(),
            bug.source()
        );
    }
    Exit::Clean
}
