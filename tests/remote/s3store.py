"""Reaching the tests' S3 server: its environment and a boto3 client for arranging objects behind the readers."""

from __future__ import annotations


def env(endpoint: str) -> dict[str, str]:
    return {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL_S3": endpoint,
        "AWS_ENDPOINT_URL": endpoint,
    }


def client(endpoint: str):
    import boto3

    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")


def keys(endpoint: str, bucket: str, prefix: str) -> dict[str, int]:
    """Object key -> size under ``prefix``."""
    out: dict[str, int] = {}
    for page in client(endpoint).get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        out.update({item["Key"]: item["Size"] for item in page.get("Contents", [])})
    return out
