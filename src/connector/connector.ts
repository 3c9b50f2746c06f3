import type { Core } from './core.ts';
import { BuildRequestsComponent } from './buildrequests.ts';
import { BuildsComponent } from './builds.ts';
import { BuildsetsComponent } from './buildsets.ts';
import { ChangesComponent } from './changes.ts';
import { ChangeSourcesComponent } from './changesources.ts';
import { MastersComponent } from './masters.ts';
import { SchedulersComponent } from './schedulers.ts';
import { SourceStampsComponent } from './sourcestamps.ts';
import { SourceStampSetsComponent } from './sourcestampsets.ts';
import { StateComponent } from './state.ts';
import { UsersComponent } from './users.ts';

/**
 * One master's view of the shared state, like Buildbot's `master.db`: every
 * component, bound to `masterid` for claims and `mine`.
 */
export class Connector {
  readonly masters: MastersComponent;
  readonly buildrequests: BuildRequestsComponent;
  readonly buildsets: BuildsetsComponent;
  readonly changesources: ChangeSourcesComponent;
  readonly sourcestamps: SourceStampsComponent;
  readonly sourcestampsets: SourceStampSetsComponent;
  readonly builds: BuildsComponent;
  readonly changes: ChangesComponent;
  readonly schedulers: SchedulersComponent;
  readonly state: StateComponent;
  readonly users: UsersComponent;

  constructor(
    core: Core,
    readonly masterid: number,
  ) {
    this.masters = new MastersComponent(core);
    this.buildrequests = new BuildRequestsComponent(core, masterid);
    this.buildsets = new BuildsetsComponent(core);
    this.changesources = new ChangeSourcesComponent(core);
    this.sourcestamps = new SourceStampsComponent(core);
    this.sourcestampsets = new SourceStampSetsComponent(core);
    this.builds = new BuildsComponent(core);
    this.changes = new ChangesComponent(core);
    this.schedulers = new SchedulersComponent(core);
    this.state = new StateComponent(core);
    this.users = new UsersComponent(core);
  }
}
