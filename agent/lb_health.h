/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Health checks of load-balancer backends: non-blocking TCP connects, UDP
 * request/reply and HTTP GETs, each backend on its service's interval with
 * a timeout, taken out of the Maglev table after `fall` failures in a row and
 * put back after `rise` successes. Everything runs on the agent's event loop:
 * the checker's own epoll fd (probe sockets and a tick timer) sits in it.
 */
#ifndef WEIR_AGENT_LB_HEALTH_H
#define WEIR_AGENT_LB_HEALTH_H

struct weir_lb_health;
struct weir_services;

int weir_lb_health_new(struct weir_lb_health **out, struct weir_services *s);
void weir_lb_health_free(struct weir_lb_health *h);
/* Readable when the checker has work: call weir_lb_health_process(). */
int weir_lb_health_fd(const struct weir_lb_health *h);
void weir_lb_health_process(struct weir_lb_health *h);

#endif /* WEIR_AGENT_LB_HEALTH_H */
