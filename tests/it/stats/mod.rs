mod figures;
mod hours;
mod view;
