export { MySqlAudience } from './mysql-audience';
export { MySqlCustomFieldWriter } from './mysql-custom-field-writer';
export { hostTables, customFieldColumn, assertId, type HostTables } from './host-tables';
export { mysqlWorkerBase, type MySqlWorkerBase } from './mysql-worker-base';
