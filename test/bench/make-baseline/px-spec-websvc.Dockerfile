# px-installer's px-spec-websvc/Dockerfile: the templates and the static binary on alpine.
ARG BASE=alpine:latest
FROM ${BASE}
WORKDIR /
ADD templates /
ADD px-spec-websvc /px-spec-websvc
EXPOSE 8080
ENTRYPOINT ["/px-spec-websvc"]
CMD []
