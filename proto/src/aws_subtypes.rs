//! The AWS service actions an HTTP API can call directly (AWS's
//! "integration subtypes": an `AWS_PROXY` integration with an
//! `integration_subtype` instead of a function).
//!
//! Both planes read this one table: the control plane refuses a subtype it
//! does not list, a missing required parameter or one the subtype does not
//! take; the data plane builds the service request from it (which endpoint,
//! which signing name, which wire protocol, where each parameter goes).
//! Parameter names and whether they are required are AWS's, from its
//! "Integration subtype reference" for HTTP APIs.
//!
//! Pure data; nothing here does I/O.

/// How a service action travels on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// `POST /` with `Content-Type: application/x-amz-json-1.0` and
    /// `X-Amz-Target: {target_prefix}.{action}`; the body a JSON object.
    Json10 { target_prefix: &'static str },
    /// As [`Protocol::Json10`] with `application/x-amz-json-1.1`.
    Json11 { target_prefix: &'static str },
    /// A REST call: the verb and path (with `{Param}` placeholders) fixed
    /// per action, parameters in the path or the query string.
    Rest {
        method: &'static str,
        path: &'static str,
    },
}

impl Protocol {
    /// The `Content-Type` of a request body in this protocol, if it has one.
    pub fn content_type(self) -> Option<&'static str> {
        match self {
            Protocol::Json10 { .. } => Some("application/x-amz-json-1.0"),
            Protocol::Json11 { .. } => Some("application/x-amz-json-1.1"),
            Protocol::Rest { .. } => None,
        }
    }
}

/// A service that speaks only AWS's JSON protocol: an action is
/// `POST /` with `X-Amz-Target: {target_prefix}.{Action}` and this content
/// type, the request a JSON document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonService {
    pub target_prefix: &'static str,
    pub content_type: &'static str,
}

impl JsonService {
    /// The `X-Amz-Target` of `action`.
    pub fn target(self, action: &str) -> String {
        format!("{}.{action}", self.target_prefix)
    }
}

/// How a REST `AWS` integration's `…:{service}:action/{Action}` URI is
/// called, as AWS API Gateway calls it: in the JSON protocol for the
/// services listed here, which speak nothing else (DynamoDB's `PutItem` is
/// `POST /` with `X-Amz-Target: DynamoDB_20120810.PutItem` and
/// `application/x-amz-json-1.0`, the mapping template's output as the
/// body); None for the query protocol (`?Action={Action}` with a form
/// body: SQS, SNS, STS, IAM, EC2...). The target prefixes are the
/// services' own, from their API definitions.
pub fn action_protocol(service: &str) -> Option<JsonService> {
    const JSON_10: &str = "application/x-amz-json-1.0";
    const JSON_11: &str = "application/x-amz-json-1.1";
    let (target_prefix, content_type) = match service {
        "dynamodb" => ("DynamoDB_20120810", JSON_10),
        "states" => ("AWSStepFunctions", JSON_10),
        "kinesis" => ("Kinesis_20131202", JSON_11),
        "firehose" => ("Firehose_20150804", JSON_11),
        "events" => ("AWSEvents", JSON_11),
        "logs" => ("Logs_20140328", JSON_11),
        "ssm" => ("AmazonSSM", JSON_11),
        "secretsmanager" => ("secretsmanager", JSON_11),
        "kms" => ("TrentService", JSON_11),
        "cognito-idp" => ("AWSCognitoIdentityProviderService", JSON_11),
        "ecs" => ("AmazonEC2ContainerServiceV20141113", JSON_11),
        "athena" => ("AmazonAthena", JSON_11),
        "glue" => ("AWSGlue", JSON_11),
        "textract" => ("Textract", JSON_11),
        "rekognition" => ("RekognitionService", JSON_11),
        "comprehend" => ("Comprehend_20171127", JSON_11),
        "translate" => ("AWSShineFrontendService_20170701", JSON_11),
        _ => return None,
    };
    Some(JsonService {
        target_prefix,
        content_type,
    })
}

/// What a parameter's value (always a string in the integration's mapping)
/// becomes on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// A JSON string.
    Text,
    /// A JSON number (the value must parse as an integer).
    Integer,
    /// The value is itself JSON (an object or a list, e.g. `MessageAttributes`),
    /// embedded as is.
    Json,
    /// A list of strings: the value is a JSON list, or a comma-separated one.
    List,
    /// Bytes: the value's UTF-8 bytes, base64-encoded as AWS's JSON
    /// protocols carry blobs.
    Blob,
}

/// Where a parameter goes in the service request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// A member of the JSON body, under this wire name (the parameter's
    /// own, but for Step Functions, whose members are camelCase:
    /// `StateMachineArn` travels as `stateMachineArn`).
    Body(&'static str),
    /// A member of the one entry of the body's `Entries` list
    /// (EventBridge's PutEvents sends one event per request).
    Entry,
    /// A `{Name}` segment of a REST path.
    Path,
    /// A query string parameter of a REST call, under this wire name.
    Query(&'static str),
    /// Not sent: chooses the region the call goes to and is signed for.
    Region,
}

/// One request parameter of a subtype.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parameter {
    /// AWS's name, the key in the integration's `request_parameters`.
    pub name: &'static str,
    pub required: bool,
    pub shape: Shape,
    pub placement: Placement,
}

/// One integration subtype: a service action and its parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subtype {
    /// `SQS-SendMessage`, as AWS spells it.
    pub name: &'static str,
    /// The endpoint prefix: `https://{service}.{region}.amazonaws.com`.
    pub service: &'static str,
    /// The SigV4 service name the request is signed for.
    pub signing_name: &'static str,
    /// The service's API action (`SendMessage`).
    pub action: &'static str,
    pub protocol: Protocol,
    pub parameters: &'static [Parameter],
}

impl Subtype {
    /// The parameter of this name (names are case-sensitive, as in AWS).
    pub fn parameter(&self, name: &str) -> Option<&'static Parameter> {
        self.parameters.iter().find(|p| p.name == name)
    }

    /// The names of the required parameters, in the table's order.
    pub fn required(&self) -> impl Iterator<Item = &'static str> + use<> {
        self.parameters
            .iter()
            .filter(|p| p.required)
            .map(|p| p.name)
    }

    /// Checks the names an integration maps against this subtype: every
    /// required parameter present, no parameter the subtype does not take.
    pub fn check_names<'a>(
        &self,
        names: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), ParameterError> {
        let names: Vec<&str> = names.into_iter().collect();
        if let Some(unknown) = names.iter().find(|n| self.parameter(n).is_none()) {
            return Err(ParameterError::Unknown {
                subtype: self.name,
                name: (*unknown).to_owned(),
                takes: self.parameters.iter().map(|p| p.name).collect(),
            });
        }
        let missing: Vec<&'static str> = self.required().filter(|r| !names.contains(r)).collect();
        if !missing.is_empty() {
            return Err(ParameterError::Missing {
                subtype: self.name,
                names: missing,
            });
        }
        Ok(())
    }

    /// The `X-Amz-Target` header of a JSON-protocol call.
    pub fn target(&self) -> Option<String> {
        match self.protocol {
            Protocol::Json10 { target_prefix } | Protocol::Json11 { target_prefix } => {
                Some(format!("{target_prefix}.{}", self.action))
            }
            Protocol::Rest { .. } => None,
        }
    }
}

/// Why an integration's parameters do not fit its subtype.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParameterError {
    #[error("{subtype} does not take the parameter '{name}'; it takes {}", takes.join(", "))]
    Unknown {
        subtype: &'static str,
        name: String,
        /// Every parameter the subtype takes, for the message.
        takes: Vec<&'static str>,
    },
    #[error("{subtype} requires the parameters {}", names.join(", "))]
    Missing {
        subtype: &'static str,
        names: Vec<&'static str>,
    },
}

/// The subtype of this name (`SQS-SendMessage`), as AWS spells it.
pub fn lookup(name: &str) -> Option<&'static Subtype> {
    SUBTYPES.iter().find(|s| s.name == name)
}

const fn p(name: &'static str, required: bool, shape: Shape, placement: Placement) -> Parameter {
    Parameter {
        name,
        required,
        shape,
        placement,
    }
}

use Placement::{Body, Entry, Path, Query};
use Shape::{Blob, Integer, Json, List, Text};

const REGION: Parameter = p("Region", false, Text, Placement::Region);

/// SQS speaks JSON 1.0 (`AmazonSQS.{Action}`) since 2023; AWS's SDKs and
/// moto both use it.
const SQS: Protocol = Protocol::Json10 {
    target_prefix: "AmazonSQS",
};
const STATES: Protocol = Protocol::Json10 {
    target_prefix: "AWSStepFunctions",
};

/// Every subtype AWS offers HTTP APIs.
pub const SUBTYPES: &[Subtype] = &[
    Subtype {
        name: "EventBridge-PutEvents",
        service: "events",
        signing_name: "events",
        action: "PutEvents",
        protocol: Protocol::Json11 {
            target_prefix: "AWSEvents",
        },
        parameters: &[
            p("Detail", true, Text, Entry),
            p("DetailType", true, Text, Entry),
            p("Source", true, Text, Entry),
            p("Time", false, Text, Entry),
            p("EventBusName", false, Text, Entry),
            p("Resources", false, List, Entry),
            REGION,
            p("TraceHeader", false, Text, Entry),
        ],
    },
    Subtype {
        name: "SQS-SendMessage",
        service: "sqs",
        signing_name: "sqs",
        action: "SendMessage",
        protocol: SQS,
        parameters: &[
            p("QueueUrl", true, Text, Body("QueueUrl")),
            p("MessageBody", true, Text, Body("MessageBody")),
            p("DelaySeconds", false, Integer, Body("DelaySeconds")),
            p("MessageAttributes", false, Json, Body("MessageAttributes")),
            p(
                "MessageDeduplicationId",
                false,
                Text,
                Body("MessageDeduplicationId"),
            ),
            p("MessageGroupId", false, Text, Body("MessageGroupId")),
            p(
                "MessageSystemAttributes",
                false,
                Json,
                Body("MessageSystemAttributes"),
            ),
            REGION,
        ],
    },
    Subtype {
        name: "SQS-ReceiveMessage",
        service: "sqs",
        signing_name: "sqs",
        action: "ReceiveMessage",
        protocol: SQS,
        parameters: &[
            p("QueueUrl", true, Text, Body("QueueUrl")),
            p("AttributeNames", false, List, Body("AttributeNames")),
            p(
                "MaxNumberOfMessages",
                false,
                Integer,
                Body("MaxNumberOfMessages"),
            ),
            p(
                "MessageAttributeNames",
                false,
                List,
                Body("MessageAttributeNames"),
            ),
            p(
                "ReceiveRequestAttemptId",
                false,
                Text,
                Body("ReceiveRequestAttemptId"),
            ),
            p(
                "VisibilityTimeout",
                false,
                Integer,
                Body("VisibilityTimeout"),
            ),
            p("WaitTimeSeconds", false, Integer, Body("WaitTimeSeconds")),
            REGION,
        ],
    },
    Subtype {
        name: "SQS-DeleteMessage",
        service: "sqs",
        signing_name: "sqs",
        action: "DeleteMessage",
        protocol: SQS,
        parameters: &[
            p("ReceiptHandle", true, Text, Body("ReceiptHandle")),
            p("QueueUrl", true, Text, Body("QueueUrl")),
            REGION,
        ],
    },
    Subtype {
        name: "SQS-PurgeQueue",
        service: "sqs",
        signing_name: "sqs",
        action: "PurgeQueue",
        protocol: SQS,
        parameters: &[p("QueueUrl", true, Text, Body("QueueUrl")), REGION],
    },
    Subtype {
        name: "AppConfig-GetConfiguration",
        service: "appconfig",
        signing_name: "appconfig",
        action: "GetConfiguration",
        protocol: Protocol::Rest {
            method: "GET",
            path: "/applications/{Application}/environments/{Environment}/configurations/{Configuration}",
        },
        parameters: &[
            p("Application", true, Text, Path),
            p("Environment", true, Text, Path),
            p("Configuration", true, Text, Path),
            p("ClientId", true, Text, Query("client_id")),
            p(
                "ClientConfigurationVersion",
                false,
                Text,
                Query("client_configuration_version"),
            ),
            REGION,
        ],
    },
    Subtype {
        name: "Kinesis-PutRecord",
        service: "kinesis",
        signing_name: "kinesis",
        action: "PutRecord",
        protocol: Protocol::Json11 {
            target_prefix: "Kinesis_20131202",
        },
        parameters: &[
            p("StreamName", true, Text, Body("StreamName")),
            p("Data", true, Blob, Body("Data")),
            p("PartitionKey", true, Text, Body("PartitionKey")),
            p(
                "SequenceNumberForOrdering",
                false,
                Text,
                Body("SequenceNumberForOrdering"),
            ),
            p("ExplicitHashKey", false, Text, Body("ExplicitHashKey")),
            REGION,
        ],
    },
    Subtype {
        name: "StepFunctions-StartExecution",
        service: "states",
        signing_name: "states",
        action: "StartExecution",
        protocol: STATES,
        parameters: &[
            p("StateMachineArn", true, Text, Body("stateMachineArn")),
            p("Name", false, Text, Body("name")),
            p("Input", false, Text, Body("input")),
            REGION,
        ],
    },
    Subtype {
        name: "StepFunctions-StartSyncExecution",
        // Express workflows run synchronously behind their own endpoint,
        // signed for the same service.
        service: "sync-states",
        signing_name: "states",
        action: "StartSyncExecution",
        protocol: STATES,
        parameters: &[
            p("StateMachineArn", true, Text, Body("stateMachineArn")),
            p("Name", false, Text, Body("name")),
            p("Input", false, Text, Body("input")),
            REGION,
            p("TraceHeader", false, Text, Body("traceHeader")),
        ],
    },
    Subtype {
        name: "StepFunctions-StopExecution",
        service: "states",
        signing_name: "states",
        action: "StopExecution",
        protocol: STATES,
        parameters: &[
            p("ExecutionArn", true, Text, Body("executionArn")),
            p("Cause", false, Text, Body("cause")),
            p("Error", false, Text, Body("error")),
            REGION,
        ],
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_subtype_aws_lists_is_here_once() {
        let names = [
            "SQS-SendMessage",
            "SQS-ReceiveMessage",
            "SQS-DeleteMessage",
            "SQS-PurgeQueue",
            "EventBridge-PutEvents",
            "Kinesis-PutRecord",
            "StepFunctions-StartExecution",
            "StepFunctions-StartSyncExecution",
            "StepFunctions-StopExecution",
            "AppConfig-GetConfiguration",
        ];
        assert_eq!(SUBTYPES.len(), names.len());
        for name in names {
            assert_eq!(
                SUBTYPES.iter().filter(|s| s.name == name).count(),
                1,
                "{name}"
            );
            assert_eq!(lookup(name).unwrap().name, name);
        }
    }

    #[test]
    fn lookup_is_exact_and_case_sensitive() {
        assert!(lookup("sqs-sendmessage").is_none());
        assert!(lookup("SQS-SendMessage ").is_none());
        assert!(lookup("").is_none());
    }

    #[test]
    fn send_message_takes_aws_parameters() {
        let s = lookup("SQS-SendMessage").unwrap();
        assert_eq!(
            s.required().collect::<Vec<_>>(),
            ["QueueUrl", "MessageBody"]
        );
        for optional in [
            "DelaySeconds",
            "MessageAttributes",
            "MessageDeduplicationId",
            "MessageGroupId",
            "MessageSystemAttributes",
            "Region",
        ] {
            assert!(!s.parameter(optional).unwrap().required, "{optional}");
        }
        assert_eq!(s.target().as_deref(), Some("AmazonSQS.SendMessage"));
        assert_eq!(
            s.protocol.content_type(),
            Some("application/x-amz-json-1.0")
        );
    }

    #[test]
    fn every_subtype_takes_a_region_that_is_not_sent() {
        for s in SUBTYPES {
            let region = s.parameter("Region").expect(s.name);
            assert_eq!(region.placement, Placement::Region, "{}", s.name);
            assert!(!region.required);
            assert!(
                s.required().next().is_some(),
                "{} requires something",
                s.name
            );
        }
    }

    #[test]
    fn required_parameters_match_aws() {
        let cases: &[(&str, &[&str])] = &[
            ("EventBridge-PutEvents", &["Detail", "DetailType", "Source"]),
            ("SQS-ReceiveMessage", &["QueueUrl"]),
            ("SQS-DeleteMessage", &["ReceiptHandle", "QueueUrl"]),
            ("SQS-PurgeQueue", &["QueueUrl"]),
            (
                "AppConfig-GetConfiguration",
                &["Application", "Environment", "Configuration", "ClientId"],
            ),
            ("Kinesis-PutRecord", &["StreamName", "Data", "PartitionKey"]),
            ("StepFunctions-StartExecution", &["StateMachineArn"]),
            ("StepFunctions-StartSyncExecution", &["StateMachineArn"]),
            ("StepFunctions-StopExecution", &["ExecutionArn"]),
        ];
        for (name, required) in cases {
            let s = lookup(name).unwrap();
            assert_eq!(s.required().collect::<Vec<_>>(), *required, "{name}");
        }
    }

    #[test]
    fn check_names_refuses_a_missing_required_parameter() {
        let s = lookup("SQS-SendMessage").unwrap();
        assert_eq!(
            s.check_names(["QueueUrl"]),
            Err(ParameterError::Missing {
                subtype: "SQS-SendMessage",
                names: vec!["MessageBody"],
            })
        );
        assert_eq!(
            s.check_names(["QueueUrl"]).unwrap_err().to_string(),
            "SQS-SendMessage requires the parameters MessageBody"
        );
    }

    #[test]
    fn check_names_refuses_an_unknown_or_miscased_parameter() {
        let s = lookup("SQS-SendMessage").unwrap();
        let takes: Vec<&str> = s.parameters.iter().map(|p| p.name).collect();
        for wrong in ["queueurl", "Body", "QueueUrl "] {
            assert_eq!(
                s.check_names(["QueueUrl", "MessageBody", wrong]),
                Err(ParameterError::Unknown {
                    subtype: "SQS-SendMessage",
                    name: wrong.to_owned(),
                    takes: takes.clone(),
                }),
                "{wrong}"
            );
        }
        let message = s.check_names(["Body"]).unwrap_err().to_string();
        assert!(
            message.starts_with(
                "SQS-SendMessage does not take the parameter 'Body'; it takes QueueUrl, MessageBody"
            ),
            "{message}"
        );
    }

    #[test]
    fn check_names_accepts_required_and_optional() {
        let s = lookup("StepFunctions-StartExecution").unwrap();
        assert_eq!(
            s.check_names(["StateMachineArn", "Input", "Name", "Region"]),
            Ok(())
        );
    }

    #[test]
    fn json_protocols_name_their_target_rest_ones_their_path() {
        for s in SUBTYPES {
            match s.protocol {
                Protocol::Json10 { .. } | Protocol::Json11 { .. } => {
                    let target = s.target().unwrap();
                    assert!(target.ends_with(&format!(".{}", s.action)), "{target}");
                    assert!(
                        s.parameters
                            .iter()
                            .all(|p| !matches!(p.placement, Placement::Path | Placement::Query(_))),
                        "{}",
                        s.name
                    );
                }
                Protocol::Rest { path, .. } => {
                    assert!(s.target().is_none());
                    for param in s.parameters {
                        if param.placement == Placement::Path {
                            assert!(
                                path.contains(&format!("{{{}}}", param.name)),
                                "{}",
                                param.name
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn step_functions_members_travel_camel_case() {
        let s = lookup("StepFunctions-StartExecution").unwrap();
        assert_eq!(
            s.parameter("StateMachineArn").unwrap().placement,
            Placement::Body("stateMachineArn")
        );
        assert_eq!(
            s.parameter("Input").unwrap().placement,
            Placement::Body("input")
        );
        let sqs = lookup("SQS-SendMessage").unwrap();
        assert_eq!(
            sqs.parameter("QueueUrl").unwrap().placement,
            Placement::Body("QueueUrl")
        );
    }

    #[test]
    fn sync_executions_sign_for_states_at_their_own_endpoint() {
        let s = lookup("StepFunctions-StartSyncExecution").unwrap();
        assert_eq!((s.service, s.signing_name), ("sync-states", "states"));
        assert_eq!(
            lookup("EventBridge-PutEvents").unwrap().target().as_deref(),
            Some("AWSEvents.PutEvents")
        );
        assert_eq!(
            lookup("Kinesis-PutRecord").unwrap().target().as_deref(),
            Some("Kinesis_20131202.PutRecord")
        );
    }
}
