//! Amazon Resource Names: the parts the evidence model and the checks read from them
//! (`arn:partition:service:region:account:resource`). Lenient: a malformed ARN yields `None`
//! parts, never an error — it is someone else's data, kept as read.

/// Account and Region of an ARN, each `None` when absent (or the ARN is malformed).
pub fn account_region(arn: &str) -> (Option<&str>, Option<&str>) {
    let mut parts = arn.splitn(6, ':');
    if parts.next() != Some("arn") {
        return (None, None);
    }
    let (_partition, _service) = (parts.next(), parts.next());
    let region = parts.next().filter(|s| !s.is_empty());
    let account = parts.next().filter(|s| !s.is_empty());
    (account, region)
}

/// AWS Backup's resource type for an ARN (`EC2`, `EBS`, `RDS`, `Aurora` …), for resources
/// known only from the tag inventory.
pub fn backup_resource_type(arn: &str) -> Option<&'static str> {
    let mut parts = arn.splitn(6, ':');
    let (_, _, service) = (parts.next()?, parts.next()?, parts.next()?);
    let resource = arn.splitn(6, ':').nth(5).unwrap_or("");
    Some(match service {
        "ec2" if resource.starts_with("instance/") => "EC2",
        "ec2" if resource.starts_with("volume/") => "EBS",
        "rds" if resource.starts_with("cluster:") => "Aurora",
        "rds" => "RDS",
        "dynamodb" => "DynamoDB",
        "elasticfilesystem" => "EFS",
        "s3" => "S3",
        "fsx" => "FSx",
        "cloudformation" => "CloudFormation",
        "redshift" => "Redshift",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_and_regions() {
        assert_eq!(
            account_region("arn:aws:backup:eu-west-1:111122223333:backup-vault:v"),
            (Some("111122223333"), Some("eu-west-1"))
        );
        assert_eq!(account_region("arn:aws:ec2:eu-west-1::image/ami-1"), (None, Some("eu-west-1")));
        assert_eq!(account_region("arn:aws:iam::111122223333:role/x"), (Some("111122223333"), None));
        assert_eq!(account_region("nonsense"), (None, None));
    }

    #[test]
    fn resource_types() {
        assert_eq!(backup_resource_type("arn:aws:rds:eu-west-1:1:cluster:c"), Some("Aurora"));
        assert_eq!(backup_resource_type("arn:aws:rds:eu-west-1:1:db:d"), Some("RDS"));
        assert_eq!(backup_resource_type("arn:aws:ec2:eu-west-1:1:volume/v"), Some("EBS"));
        assert_eq!(backup_resource_type("arn:aws:s3:::bucket"), Some("S3"));
        assert_eq!(backup_resource_type("nonsense"), None);
    }
}
