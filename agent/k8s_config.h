/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* How to reach the Kubernetes API: in-cluster (the pod's service-account
 * token and CA, KUBERNETES_SERVICE_HOST/PORT) or a kubeconfig file. The
 * kubeconfig subset: current-context; its cluster's server,
 * certificate-authority or certificate-authority-data and
 * insecure-skip-tls-verify; its user's token or tokenFile,
 * client-certificate(-data) and client-key(-data). exec and auth-provider
 * plugins are refused by name. Relative paths are relative to the file.
 */
#ifndef WEIR_AGENT_K8S_CONFIG_H
#define WEIR_AGENT_K8S_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#define WEIR_K8S_SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

struct weir_k8s_conn {
	char *server;	  /* "https://10.96.0.1:443", no trailing '/' */
	char *token;	  /* a fixed bearer token, or NULL */
	char *token_file; /* read before every request (service-account tokens rotate), or NULL */
	char *ca_file;	  /* PEM file, or NULL */
	char *ca_pem;	  /* PEM text (from -data), or NULL */
	size_t ca_pem_len;
	char *cert_file, *key_file; /* client certificate, or NULL */
	char *cert_pem, *key_pem;   /* from -data, or NULL */
	size_t cert_pem_len, key_pem_len;
	bool insecure; /* insecure-skip-tls-verify */
};

/* In-cluster: the service account in sa_dir and the environment (getenv_fn). */
int weir_k8s_conn_in_cluster(struct weir_k8s_conn *c, const char *sa_dir,
			     const char *(*getenv_fn)(const char *), char *err, size_t err_len);
int weir_k8s_conn_kubeconfig(struct weir_k8s_conn *c, const char *path, char *err, size_t err_len);
void weir_k8s_conn_release(struct weir_k8s_conn *c);

/* The bearer token for the next request (malloc'ed), or NULL when none. */
char *weir_k8s_conn_token(const struct weir_k8s_conn *c);

#endif /* WEIR_AGENT_K8S_CONFIG_H */
