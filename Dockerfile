# The exlib operator image: `exlib run` by default.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY controller ./controller
COPY migrations ./migrations
COPY alembic.ini ./
# Editable install: the package finds migrations/ beside it in /app (the JSON Schemas are
# package data in controller/schemas/).
RUN pip install --no-cache-dir -e . && useradd --uid 10001 --no-create-home exlib
USER 10001
ENV HOME=/tmp PYTHONUNBUFFERED=1
ENTRYPOINT ["exlib"]
CMD ["run", "--all-namespaces"]
