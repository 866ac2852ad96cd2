"""Sets up and reads back the AWS resources of the service integration
tests (tests/tests/aws_services.rs), with botocore, against moto in server
mode.

Usage: moto_client.py ENDPOINT COMMAND, with a JSON argument on stdin;
prints a JSON result.
  setup       {}                       -> {"queue_url", "events_queue_url",
                                           "state_machine_arn"}
  receive     {"queue_url"}            -> [message bodies]
  executions  {"state_machine_arn"}    -> [{"name", "input", "status"}]
  create_queue  {"name"}               -> queue URL
  create_stream {"name"}               -> stream name (one shard)
  send        {"queue_url", "body"}    -> message id
  queue_size  {"queue_url"}            -> messages on the queue, visible or not
  records     {"stream_name"}          -> [{"data", "partition_key"}]
  s3_setup    {"bucket"}               -> {"access_key_id", "secret_access_key"}
              an IAM user allowed s3:*, its key, and the bucket: four calls,
              so a moto started with INITIAL_NO_AUTH_ACTION_COUNT=4 checks
              every later request's signature against that key
  s3_objects  {"bucket", "access_key_id", "secret_access_key"}
                                       -> {key: base64 of the object}
  create_table {"name"}                -> table name (hash key "id", a string)
  get_item    {"table", "id"}          -> the item as DynamoDB writes it, or null
"""

import base64
import json
import sys

import botocore.session

REGION = "us-east-1"


def client(endpoint, service, key=("AKIAMOTOTEST00000001", "moto-secret")):
    session = botocore.session.get_session()
    return session.create_client(
        service,
        region_name=REGION,
        endpoint_url=endpoint,
        aws_access_key_id=key[0],
        aws_secret_access_key=key[1],
    )


def setup(endpoint, _args):
    sqs = client(endpoint, "sqs")
    queue_url = sqs.create_queue(QueueName="orders")["QueueUrl"]
    events_queue_url = sqs.create_queue(QueueName="events")["QueueUrl"]
    events_queue_arn = sqs.get_queue_attributes(
        QueueUrl=events_queue_url, AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    events = client(endpoint, "events")
    events.put_rule(
        Name="orders-rule",
        EventPattern=json.dumps({"source": ["archway.test"]}),
        State="ENABLED",
    )
    events.put_targets(
        Rule="orders-rule", Targets=[{"Id": "to-queue", "Arn": events_queue_arn}]
    )
    states = client(endpoint, "stepfunctions")
    definition = {
        "StartAt": "Done",
        "States": {"Done": {"Type": "Pass", "End": True}},
    }
    machine = states.create_state_machine(
        name="orders-flow",
        definition=json.dumps(definition),
        roleArn="arn:aws:iam::123456789012:role/states",
    )
    return {
        "queue_url": queue_url,
        "events_queue_url": events_queue_url,
        "state_machine_arn": machine["stateMachineArn"],
    }


def receive(endpoint, args):
    sqs = client(endpoint, "sqs")
    bodies = []
    # Bounded: a few short polls gather what is there.
    for _ in range(5):
        answer = sqs.receive_message(
            QueueUrl=args["queue_url"], MaxNumberOfMessages=10, WaitTimeSeconds=1
        )
        messages = answer.get("Messages", [])
        for message in messages:
            bodies.append(message["Body"])
        if messages:
            # Deleted once read: a later receive sees only new messages,
            # however long the run (not just for the visibility timeout).
            sqs.delete_message_batch(
                QueueUrl=args["queue_url"],
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                    for i, m in enumerate(messages)
                ],
            )
        if bodies:
            break
    return bodies


def executions(endpoint, args):
    states = client(endpoint, "stepfunctions")
    listed = states.list_executions(stateMachineArn=args["state_machine_arn"])
    result = []
    for execution in listed["executions"]:
        described = states.describe_execution(executionArn=execution["executionArn"])
        result.append(
            {
                "name": execution["name"],
                "input": described.get("input"),
                "status": described["status"],
            }
        )
    return result


def create_queue(endpoint, args):
    return client(endpoint, "sqs").create_queue(QueueName=args["name"])["QueueUrl"]


def create_stream(endpoint, args):
    kinesis = client(endpoint, "kinesis")
    kinesis.create_stream(StreamName=args["name"], ShardCount=1)
    return args["name"]


def send(endpoint, args):
    sqs = client(endpoint, "sqs")
    return sqs.send_message(QueueUrl=args["queue_url"], MessageBody=args["body"])[
        "MessageId"
    ]


def queue_size(endpoint, args):
    sqs = client(endpoint, "sqs")
    attributes = sqs.get_queue_attributes(
        QueueUrl=args["queue_url"],
        AttributeNames=[
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
        ],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def records(endpoint, args):
    kinesis = client(endpoint, "kinesis")
    shard = kinesis.list_shards(StreamName=args["stream_name"])["Shards"][0]
    iterator = kinesis.get_shard_iterator(
        StreamName=args["stream_name"],
        ShardId=shard["ShardId"],
        ShardIteratorType="TRIM_HORIZON",
    )["ShardIterator"]
    got = kinesis.get_records(ShardIterator=iterator, Limit=100)["Records"]
    return [
        {"data": r["Data"].decode("utf-8"), "partition_key": r["PartitionKey"]}
        for r in got
    ]


def s3_setup(endpoint, args):
    iam = client(endpoint, "iam")
    iam.create_user(UserName="archway-s3")
    iam.put_user_policy(
        UserName="archway-s3",
        PolicyName="s3",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
            }
        ),
    )
    key = iam.create_access_key(UserName="archway-s3")["AccessKey"]
    client(endpoint, "s3").create_bucket(Bucket=args["bucket"])
    return {
        "access_key_id": key["AccessKeyId"],
        "secret_access_key": key["SecretAccessKey"],
    }


def s3_objects(endpoint, args):
    s3 = client(endpoint, "s3", (args["access_key_id"], args["secret_access_key"]))
    listed = s3.list_objects_v2(Bucket=args["bucket"]).get("Contents", [])
    return {
        o["Key"]: base64.b64encode(
            s3.get_object(Bucket=args["bucket"], Key=o["Key"])["Body"].read()
        ).decode("ascii")
        for o in listed
    }


def create_table(endpoint, args):
    dynamodb = client(endpoint, "dynamodb")
    dynamodb.create_table(
        TableName=args["name"],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return args["name"]


def get_item(endpoint, args):
    dynamodb = client(endpoint, "dynamodb")
    answer = dynamodb.get_item(TableName=args["table"], Key={"id": {"S": args["id"]}})
    return answer.get("Item")


COMMANDS = {
    "setup": setup,
    "receive": receive,
    "executions": executions,
    "create_queue": create_queue,
    "create_stream": create_stream,
    "send": send,
    "queue_size": queue_size,
    "records": records,
    "s3_setup": s3_setup,
    "s3_objects": s3_objects,
    "create_table": create_table,
    "get_item": get_item,
}

if __name__ == "__main__":
    endpoint, command = sys.argv[1], sys.argv[2]
    args = json.loads(sys.stdin.read() or "{}")
    print(json.dumps(COMMANDS[command](endpoint, args)))
