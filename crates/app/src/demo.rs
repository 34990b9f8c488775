//! The demo constituency: a realistic, fictional national constituency (vital providers,
//! central government, hospitals and municipalities served by crisis teams, political
//! parties and software companies served by linking organisations, sectors with no linking
//! organisation, CSIRTs in and outside the EU, an intelligence service, a supervisory
//! authority, ministries overseeing sectors and an ended organisation), with addresses from
//! the documentation ranges (RFC 5737, RFC 3849, RFC 9637) and ASNs from RFC 5398.

use schakel_domain::Principal;

use crate::{App, AppError, ImportOptions, ImportReport};

/// The demo registry file.
pub const DEMO_REGISTRY: &str = include_str!("demo/constituency.json");

impl App {
    /// Loads the demo constituency. Loading it again changes nothing.
    pub fn load_demo(&self, principal: &Principal) -> Result<ImportReport, AppError> {
        crate::access::require(principal, crate::access::Action::LoadDemo)?;
        self.import_registry(
            principal,
            DEMO_REGISTRY.as_bytes(),
            ImportOptions::default(),
        )
    }
}
