//! Statistical disclosure control for the published statistics: primary suppression by
//! threshold and number of organisations, then complementary suppression until no
//! suppressed value can be worked out from what is published.
//!
//! Exactness: the published table fixes some cells and some totals. Every other cell is a
//! variable that is at least 1 (the cell is listed, so it holds a report). A suppressed
//! cell can take another value exactly when some change of the variables keeps every
//! published number, and such a change decomposes into ±1 cycles in a graph with a node
//! per sector, per category and two for the grand total: a suppressed cell is an edge
//! between its sector and its category (it may go up, and down only while it stays at
//! least 1), and an unpublished total is an edge that may go either way. So a cell can
//! vary if and only if its edge lies on such a cycle: a reachability question, answered
//! exactly without a solver.

use std::collections::VecDeque;

/// What is counted, per cell and per margin: reports and distinct organisations.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    /// Reports.
    pub reports: u64,
    /// Distinct reporting organisations.
    pub organisations: u64,
}

/// The table to publish.
#[derive(Debug, Clone, Default)]
pub struct Table {
    /// Sectors (rows).
    pub rows: usize,
    /// Categories (columns).
    pub cols: usize,
    /// Cells holding at least one report: (row, column, tally).
    pub cells: Vec<(usize, usize, Tally)>,
    /// Per row.
    pub row_totals: Vec<Tally>,
    /// Per column.
    pub col_totals: Vec<Tally>,
    /// Everything.
    pub total: Tally,
}

/// Which numbers are published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publication {
    /// Per cell (in the order of [`Table::cells`]).
    pub cells: Vec<bool>,
    /// Per row total.
    pub rows: Vec<bool>,
    /// Per column total.
    pub cols: Vec<bool>,
    /// The grand total.
    pub total: bool,
}

/// A number of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Number {
    Cell(usize),
    Row(usize),
    Col(usize),
    Total,
}

struct Graph<'a> {
    table: &'a Table,
    publication: &'a Publication,
}

impl Graph<'_> {
    fn nodes(&self) -> usize {
        self.table.rows + self.table.cols + 2
    }

    fn row(&self, r: usize) -> usize {
        r
    }

    fn col(&self, c: usize) -> usize {
        self.table.rows + c
    }

    fn grand_rows(&self) -> usize {
        self.table.rows + self.table.cols
    }

    fn grand_cols(&self) -> usize {
        self.table.rows + self.table.cols + 1
    }

    /// Arcs of the residual graph, each with the number it changes: (from, to, number).
    fn arcs(&self) -> Vec<(usize, usize, Number)> {
        let mut arcs = Vec::new();
        for (i, (r, c, tally)) in self.table.cells.iter().enumerate() {
            if !self.publication.cells.get(i).copied().unwrap_or(true) {
                arcs.push((self.row(*r), self.col(*c), Number::Cell(i)));
                if tally.reports >= 2 {
                    arcs.push((self.col(*c), self.row(*r), Number::Cell(i)));
                }
            }
        }
        for (r, published) in self.publication.rows.iter().enumerate() {
            if !published {
                arcs.push((self.grand_rows(), self.row(r), Number::Row(r)));
                arcs.push((self.row(r), self.grand_rows(), Number::Row(r)));
            }
        }
        for (c, published) in self.publication.cols.iter().enumerate() {
            if !published {
                arcs.push((self.col(c), self.grand_cols(), Number::Col(c)));
                arcs.push((self.grand_cols(), self.col(c), Number::Col(c)));
            }
        }
        if !self.publication.total {
            arcs.push((self.grand_cols(), self.grand_rows(), Number::Total));
            arcs.push((self.grand_rows(), self.grand_cols(), Number::Total));
        }
        arcs
    }

    /// Whether `to` is reachable from `from` without using the arcs of `skip`.
    fn reachable(
        &self,
        arcs: &[(usize, usize, Number)],
        from: usize,
        to: usize,
        skip: Number,
    ) -> bool {
        let mut next: Vec<Vec<usize>> = vec![Vec::new(); self.nodes()];
        for (a, b, n) in arcs {
            if *n != skip
                && let Some(list) = next.get_mut(*a)
            {
                list.push(*b);
            }
        }
        let mut seen = vec![false; self.nodes()];
        let mut queue = VecDeque::from([from]);
        while let Some(node) = queue.pop_front() {
            if node == to {
                return true;
            }
            if seen.get(node).copied().unwrap_or(true) {
                continue;
            }
            if let Some(s) = seen.get_mut(node) {
                *s = true;
            }
            queue.extend(next.get(node).into_iter().flatten().copied());
        }
        false
    }

    /// Whether a withheld number can take at least two values given what is published.
    fn can_vary(&self, arcs: &[(usize, usize, Number)], number: Number) -> bool {
        arcs.iter()
            .filter(|(_, _, n)| *n == number)
            // Changing the number along this arc, then returning to where it started.
            .any(|(a, b, _)| self.reachable(arcs, *b, *a, number))
    }
}

fn protected(table: &Table, publication: &Publication, sensitive: &[Number]) -> Option<Number> {
    let graph = Graph { table, publication };
    let arcs = graph.arcs();
    let mut withheld: Vec<Number> = (0..table.cells.len())
        .filter(|i| !publication.cells.get(*i).copied().unwrap_or(true))
        .map(Number::Cell)
        .collect();
    withheld.extend(
        sensitive
            .iter()
            .copied()
            .filter(|n| !matches!(n, Number::Cell(_))),
    );
    withheld.into_iter().find(|n| !graph.can_vary(&arcs, *n))
}

fn value(table: &Table, n: Number) -> u64 {
    match n {
        Number::Cell(i) => table.cells.get(i).map_or(0, |c| c.2.reports),
        Number::Row(r) => table.row_totals.get(r).map_or(0, |t| t.reports),
        Number::Col(c) => table.col_totals.get(c).map_or(0, |t| t.reports),
        Number::Total => table.total.reports,
    }
}

fn set(publication: &mut Publication, n: Number, published: bool) {
    let slot = match n {
        Number::Cell(i) => publication.cells.get_mut(i),
        Number::Row(r) => publication.rows.get_mut(r),
        Number::Col(c) => publication.cols.get_mut(c),
        Number::Total => Some(&mut publication.total),
    };
    if let Some(s) = slot {
        *s = published;
    }
}

fn is_published(publication: &Publication, n: Number) -> bool {
    match n {
        Number::Cell(i) => publication.cells.get(i).copied().unwrap_or(false),
        Number::Row(r) => publication.rows.get(r).copied().unwrap_or(false),
        Number::Col(c) => publication.cols.get(c).copied().unwrap_or(false),
        Number::Total => publication.total,
    }
}

/// The published numbers near a withheld one: cells in its row and column, and the
/// totals it is part of.
fn neighbours(table: &Table, n: Number) -> Vec<Number> {
    let (row, col) = match n {
        Number::Cell(i) => match table.cells.get(i) {
            Some((r, c, _)) => (Some(*r), Some(*c)),
            None => (None, None),
        },
        Number::Row(r) => (Some(r), None),
        Number::Col(c) => (None, Some(c)),
        Number::Total => (None, None),
    };
    let mut out: Vec<Number> = table
        .cells
        .iter()
        .enumerate()
        .filter(|(i, (r, c, _))| Number::Cell(*i) != n && (Some(*r) == row || Some(*c) == col))
        .map(|(i, _)| Number::Cell(i))
        .collect();
    match n {
        Number::Cell(_) => {
            out.extend(row.map(Number::Row));
            out.extend(col.map(Number::Col));
        }
        Number::Row(_) => {
            out.extend((0..table.rows).filter(|r| Some(*r) != row).map(Number::Row));
        }
        Number::Col(_) => {
            out.extend((0..table.cols).filter(|c| Some(*c) != col).map(Number::Col));
        }
        Number::Total => {}
    }
    out.push(Number::Total);
    out
}

/// Decides what to publish: a number is withheld when it holds fewer than `threshold`
/// reports or comes from fewer than `min_organisations` organisations; then further
/// numbers are withheld, the smallest first, until every withheld cell (and every total
/// withheld for itself) can take at least two values consistent with what is published;
/// last, every extra withholding that turns out unnecessary is published again.
pub fn suppress(table: &Table, threshold: u64, min_organisations: u64) -> Publication {
    let passes = |t: &Tally| t.reports >= threshold && t.organisations >= min_organisations;
    let mut publication = Publication {
        cells: table.cells.iter().map(|(_, _, t)| passes(t)).collect(),
        rows: table.row_totals.iter().map(passes).collect(),
        cols: table.col_totals.iter().map(passes).collect(),
        total: passes(&table.total),
    };
    // Totals withheld for themselves must stay hidden too.
    let mut sensitive: Vec<Number> = Vec::new();
    sensitive.extend(
        (0..table.rows)
            .filter(|r| !publication.rows[*r])
            .map(Number::Row),
    );
    sensitive.extend(
        (0..table.cols)
            .filter(|c| !publication.cols[*c])
            .map(Number::Col),
    );
    if !publication.total {
        sensitive.push(Number::Total);
    }
    let primary = publication.clone();
    let mut added: Vec<Number> = Vec::new();
    while let Some(exposed) = protected(table, &publication, &sensitive) {
        let graph_fixes = |n: Number| {
            let mut trial = publication.clone();
            set(&mut trial, n, false);
            let graph = Graph {
                table,
                publication: &trial,
            };
            graph.can_vary(&graph.arcs(), exposed)
        };
        // The smallest published number that protects it on its own; else the smallest
        // published neighbour, which opens a way for the next round.
        let mut everything: Vec<Number> = (0..table.cells.len())
            .map(Number::Cell)
            .chain((0..table.rows).map(Number::Row))
            .chain((0..table.cols).map(Number::Col))
            .chain([Number::Total])
            .filter(|n| is_published(&publication, *n))
            .collect();
        everything.sort_by_key(|n| (value(table, *n), *n));
        let mut near: Vec<Number> = neighbours(table, exposed)
            .into_iter()
            .filter(|n| is_published(&publication, *n))
            .collect();
        near.sort_by_key(|n| (value(table, *n), *n));
        let choice = everything
            .iter()
            .copied()
            .find(|n| graph_fixes(*n))
            .or_else(|| near.first().copied())
            .or_else(|| everything.first().copied());
        let Some(choice) = choice else {
            // Nothing is published any more; nothing can be worked out either.
            break;
        };
        set(&mut publication, choice, false);
        added.push(choice);
    }
    // Publish again what was withheld without need, the last added first.
    for n in added.into_iter().rev() {
        if is_published(&primary, n) {
            set(&mut publication, n, true);
            if protected(table, &publication, &sensitive).is_some() {
                set(&mut publication, n, false);
            }
        }
    }
    publication
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(reports: u64, organisations: u64) -> Tally {
        Tally {
            reports,
            organisations,
        }
    }

    /// A table from a grid of (reports, organisations); organisations of margins are
    /// taken as the sum (enough for these tests).
    fn table(grid: &[&[(u64, u64)]]) -> Table {
        let rows = grid.len();
        let cols = grid.first().map_or(0, |r| r.len());
        let mut table = Table {
            rows,
            cols,
            row_totals: vec![Tally::default(); rows],
            col_totals: vec![Tally::default(); cols],
            ..Table::default()
        };
        for (r, row) in grid.iter().enumerate() {
            for (c, &(n, o)) in row.iter().enumerate() {
                if n > 0 {
                    table.cells.push((r, c, t(n, o)));
                    for m in [
                        &mut table.row_totals[r],
                        &mut table.col_totals[c],
                        &mut table.total,
                    ] {
                        m.reports += n;
                        m.organisations += o;
                    }
                }
            }
        }
        table
    }

    #[test]
    fn nothing_small_nothing_withheld() {
        let tb = table(&[&[(6, 3), (7, 4)], &[(5, 5), (9, 3)]]);
        let p = suppress(&tb, 5, 3);
        assert!(p.cells.iter().all(|x| *x) && p.rows.iter().all(|x| *x) && p.total);
    }

    #[test]
    fn one_small_cell_takes_three_more_with_it() {
        // The 2 is withheld; with its row and column totals published it would follow from
        // them, so a second cell in its row, one in its column and the fourth go too.
        let tb = table(&[&[(2, 2), (7, 4)], &[(5, 5), (9, 3)]]);
        let p = suppress(&tb, 5, 3);
        assert_eq!(p.cells, [false, false, false, false]);
        assert!(p.rows.iter().all(|x| *x) && p.cols.iter().all(|x| *x) && p.total);
    }

    #[test]
    fn a_single_organisation_row_hides_its_total() {
        let tb = table(&[&[(6, 1), (7, 1)], &[(5, 5), (9, 3)], &[(8, 4), (6, 3)]]);
        let p = suppress(&tb, 5, 3);
        assert!(!p.rows[0] && !p.cells[0] && !p.cells[1], "{p:?}");
        // The first row's total would follow from the grand total and the other rows'.
        assert!(!p.total || !p.rows[1] || !p.rows[2], "{p:?}");
        // Not everything: the third row stays visible.
        assert!(p.cells[4] && p.cells[5], "{p:?}");
    }
}
