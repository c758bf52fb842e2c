#!/bin/sh
# The streaming function's handler: the Lambda Web Adapter (the layer in template.yaml, started
# by AWS_LAMBDA_EXEC_WRAPPER=/opt/bootstrap) runs this script, waits until
# AWS_LWA_READINESS_CHECK_PATH answers on AWS_LWA_PORT, then turns each Function URL request into
# an HTTP request to the service and streams its answer back (AWS_LWA_INVOKE_MODE=response_stream).
# The service binds loopback: only the adapter reaches it; the Function URL's IAM auth is the gate.
set -eu
export PYTHONPATH="${LAMBDA_TASK_ROOT:-.}${PYTHONPATH:+:$PYTHONPATH}"
# the key, read once per execution environment from the secret the template names (a rotated key
# is used from the next cold start); an ANTHROPIC_API_KEY already set is kept
if [ -z "${ANTHROPIC_API_KEY:-}" ] && [ -n "${CLAUDE_ARCH_API_KEY_SECRET:-}" ]; then
    ANTHROPIC_API_KEY="$(python -m claude_arch.serverless.secrets)"
    export ANTHROPIC_API_KEY
fi
exec python -m claude_arch.cli serve --host 127.0.0.1 --port "${AWS_LWA_PORT:-8080}"
