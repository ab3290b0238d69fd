# px-installer's px-oci-mon/Dockerfile: the static binary on ubuntu.
ARG BASE=ubuntu:16.04
FROM ${BASE}
COPY px-oci-mon /px-oci-mon
ENTRYPOINT ["/px-oci-mon"]
