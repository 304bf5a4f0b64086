# One image for every Python part: `chatops <subcommand>` (deployer, petstore, ops, notifier, gateway,
# slackemu).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
# Dependencies change less often than code: install them in their own layer first, at exactly the
# versions of constraints.txt (the lock `make` installs from too).
COPY pyproject.toml README.md LICENSE constraints.txt ./
RUN python -c "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies'], sep='\n')" \
        > /tmp/requirements.txt \
    && pip install -c constraints.txt -r /tmp/requirements.txt

COPY chatops ./chatops
COPY deployer ./deployer
COPY gateway ./gateway
COPY ops ./ops
COPY notifier ./notifier
COPY petstore ./petstore
COPY slackemu ./slackemu
COPY releases.yaml ./
RUN pip install --no-deps . \
    && useradd --system --uid 10001 --home-dir /data chatops \
    && mkdir -p /data /access && chown chatops /data /access

USER chatops
WORKDIR /data
ENTRYPOINT ["chatops"]
CMD ["--help"]
