# In the shape of ONAP's cm-container Dockerfile: the fetched type files COPYed in, the import resolver's
# rules added to config.yaml with sed, the Cloudify 3.4 types, the scripts hooked into rc.local, /opt/onap.
ARG BASE=cloudifyplatform/community:18.7.23
FROM ${BASE}
ARG TYPE_REPO
ARG CCSDK_REPO
ARG ONAPSPEC=/opt/manager/resources/onapspec
# The type files, fetched by the Makefile into type-files/ at their paths in the image.
COPY type-files/ /
RUN chown -R cfyuser:cfyuser ${ONAPSPEC}
# Local copies first: the resolver takes the first rule that matches (new items above the first one).
RUN sed -i -e "/^ *rules:$/,/^ *- /s|^\( *\)- |\1- {'${TYPE_REPO}': 'file://${ONAPSPEC}'}\n\1- {'${CCSDK_REPO}': 'file://${ONAPSPEC}'}\n\1- |" /etc/cloudify/config.yaml
COPY types-3.4/ /opt/manager/resources/spec/cloudify/3.4/
RUN chown -R cfyuser:cfyuser /opt/manager/resources/spec/cloudify/3.4
COPY images/cm-container/ /scripts/
RUN chmod 755 /scripts/*.sh && chmod 644 /scripts/cm-api.py /scripts/cm-python.sh \
    && echo '/scripts/setup-secret.sh; /scripts/set-import-rules.sh &' >> /etc/rc.d/rc.local && chmod +x /etc/rc.d/rc.local
RUN mkdir -p /opt/onap && chown cfyuser:cfyuser /opt/onap
CMD ["/scripts/start-persistent.sh"]
