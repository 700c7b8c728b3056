//! The AWS SDK configuration that points clients at an emulator (feature
//! `sdk`), for the tests of the emulator and of the function: one place that
//! knows how the emulator is reached and which key it takes for the
//! administrator, so the test suites do not each spell it out.

use aws_config::{BehaviorVersion, ConfigLoader, Region};
use aws_credential_types::Credentials;

/// The static access key the tests sign with. The emulator takes any key it
/// did not issue (through `AssumeRole`) as the administrator's.
pub const ADMIN_ACCESS_KEY_ID: &str = "AKIDEXAMPLE";

/// `aws_config` defaults for `endpoint` in `region`, signed with
/// [`ADMIN_ACCESS_KEY_ID`]; callers add their retry settings and load it.
pub fn config_loader(endpoint: &str, region: &'static str) -> ConfigLoader {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(region))
        .credentials_provider(Credentials::new(
            ADMIN_ACCESS_KEY_ID,
            "secret",
            None,
            None,
            "emulator",
        ))
        .endpoint_url(endpoint)
}
