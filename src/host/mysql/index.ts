export { MySqlAudience } from './mysql-audience';
export { MySqlCustomFieldWriter } from './mysql-custom-field-writer';
export { hostTables, customFieldColumn, assertId, type HostTables } from './host-tables';
