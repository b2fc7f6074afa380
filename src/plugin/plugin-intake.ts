/**
 * The intake every hook event goes through, from both transports (the host's
 * in-process hook bus, through the handle `load` returns, and the signed HTTP
 * ingest): the ownership check (EventOwnership), then the runtime's trigger
 * intake; closed by `disable`, after which events enrol nobody. One instance
 * per application, so closing it closes both transports.
 */
import { Inject, Injectable } from '@nestjs/common';
import type { AppConfig } from '../config/env';
import type { TriggerEvent } from '../engine/trigger-event';
import { HOST_PORTS, type HostPorts } from '../host/host.ports';
import { TRIGGER_INTAKE, type TriggerIntake } from '../runtime/trigger-intake';
import { EventOwnership, OwnershipCheckedIntake } from './event-ownership';
import type { PluginHandle } from './plugin-handle';

@Injectable()
export class PluginIntake implements TriggerIntake {
  private open = true;
  private readonly checked: TriggerIntake;

  constructor(
    @Inject(TRIGGER_INTAKE) private readonly intake: TriggerIntake,
    @Inject(HOST_PORTS) ports: HostPorts,
  ) {
    // Always on: an event enrols only when its ListID, SubscriberID and EmailID belong to its UserID.
    this.checked = new OwnershipCheckedIntake(intake, new EventOwnership(ports.audience));
  }

  get accepting(): boolean {
    return this.open;
  }

  /** The runtime's backlog is at its bound. */
  get saturated(): boolean {
    return this.intake.saturated ?? false;
  }

  /** Stops taking new work; journeys, entries and logs stay. */
  close(): void {
    this.open = false;
  }

  accept(event: TriggerEvent): Promise<{ enrolled: number }> {
    return this.open ? this.checked.accept(event) : Promise.resolve({ enrolled: 0 });
  }

  /** The handle hook handlers get: this intake and the plug-in's configuration. */
  handle(config: AppConfig): PluginHandle {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the handle's getter reads this intake's state
    const intake = this;
    return {
      config,
      intake,
      get accepting() {
        return intake.accepting;
      },
    };
  }
}
